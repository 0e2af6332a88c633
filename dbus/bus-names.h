/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#define TESSERA_BUS_NAME "org.tessera.Identity1"
#define TESSERA_BUS_PATH "/org/tessera/Identity1"
#define TESSERA_BUS_TENANT_PREFIX TESSERA_BUS_PATH "/tenant"
#define TESSERA_BUS_USER_PREFIX TESSERA_BUS_PATH "/user"
#define TESSERA_BUS_GROUP_PREFIX TESSERA_BUS_PATH "/group"

#define TESSERA_IFACE_MANAGER TESSERA_BUS_NAME ".Manager"
#define TESSERA_IFACE_TENANT TESSERA_BUS_NAME ".Tenant"
#define TESSERA_IFACE_USER TESSERA_BUS_NAME ".User"
#define TESSERA_IFACE_GROUP TESSERA_BUS_NAME ".Group"
