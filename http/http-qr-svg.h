/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A QR code as an SVG image, for an account page or app to show as it is
 * (the otpauth:// URI of a TOTP enrolment): black modules on white, a
 * quiet zone of four modules, one path, no script, no external reference. */

/* *ret: the SVG document (the caller frees it). -EINVAL when text does not
 * fit a QR code, -ENOMEM. */
int http_qr_svg(const char *text, char **ret);
