# SPDX-License-Identifier: LGPL-2.1-or-later
# bash completion for tesseractl(1): objects, verbs, options and their
# values, and the names of tenants (asked of tesserad, when it answers).
# tests/package/test_completion.py checks these lists against
# "tesseractl OBJECT VERB --help".

_tesseractl_verbs() {
        case $1 in
                tenant)  echo "create list show set delete" ;;
                user)    echo "add list show set passwd lock unlock disable enable delete totp links unlink" ;;
                group)   echo "add list show set delete add-member remove-member" ;;
                session) echo "list" ;;
                audit)   echo "list" ;;
                app)     echo "create list show delete rotate-secret" ;;
                key)     echo "rotate list" ;;
                api-key) echo "create list rotate revoke" ;;
                invitation) echo "create list resend revoke" ;;
                provider) echo "add list show set delete" ;;
                mail)    echo "test" ;;
                operator)    echo "add list remove" ;;
                entitlement) echo "get set" ;;
                store)   echo "migrate-to" ;;
        esac
}

# Options of one verb besides the common ones (--tenant --json --help).
_tesseractl_verb_options() {
        case "$1 $2" in
                "tenant create")
                        echo "--display-name=" ;;
                "tenant set")
                        echo "--display-name= --open-signup= --password-min-length= --password-dictionary-check=" \
                             "--password-min-classes= --password-max-repeat= --password-user-check= --mfa-required=" \
                             "--session-lifetime= --refresh-idle-lifetime= --refresh-absolute-lifetime=" ;;
                "user add")
                        echo "--real-name= --email= --email-verified= --home= --shell= --role= --uid= --password --password-stdin" ;;
                "user list")
                        echo "--search= --state= --role= --sort= --created-after= --created-before= --limit=" ;;
                "user set")
                        echo "--real-name= --email= --email-verified= --home= --shell= --role=" ;;
                "user passwd")
                        echo "--password-stdin" ;;
                "group add")
                        echo "--gid= --description=" ;;
                "group set")
                        echo "--description=" ;;
                "session list")
                        echo "--open --limit=" ;;
                "audit list")
                        echo "--target= --action= --limit= --after=" ;;
                "invitation create")
                        echo "--role=" ;;
                "app create")
                        echo "--redirect-uri= --post-logout-redirect-uri= --public --first-party --pkce-optional --grant= --scope= --signing-alg= --allowed-origin=" ;;
                "api-key create")
                        echo "--type= --env= --name= --scope= --application= --expires-in=" ;;
                "api-key rotate")
                        echo "--overlap=" ;;
                "provider add")
                        echo "--kind= --client-id= --client-secret-file= --display-name= --icon-url= --scope= --allowed-domain= --signup= --role= --link-by-email= --enabled= --issuer= --authorization-endpoint= --token-endpoint= --userinfo-endpoint= --jwks-uri= --api-url= --allowed-tid=" ;;
                "provider set")
                        echo "--client-id= --client-secret-file= --display-name= --icon-url= --scope= --allowed-domain= --signup= --role= --link-by-email= --enabled= --issuer= --authorization-endpoint= --token-endpoint= --userinfo-endpoint= --jwks-uri= --api-url= --allowed-tid=" ;;
                "operator add")
                        echo "--email= --password-stdin" ;;
                "entitlement set")
                        echo "--max-users= --max-applications= --feature= --no-features" ;;
                "store migrate-to")
                        echo "--password-file= --database= --config=" ;;
        esac
}

# Tenants' slugs from tesserad; nothing when it doesn't answer in time.
_tesseractl_tenants() {
        timeout 2 tesseractl --json tenant list 2>/dev/null | grep -o '"slug": *"[a-z0-9-]*"' | sed 's/.*"\([a-z0-9-]*\)"$/\1/'
}

_tesseractl() {
        local cur prev words cword split
        # -s: "--opt=VALUE" arrives as prev=--opt, cur=VALUE, split=true.
        _init_completion -s || return

        # The object and verb: the first two words that are no option (nor
        # the value of a global --tenant given apart).
        local i object="" verb="" sub="" nargs=0
        for ((i = 1; i < cword; i++)); do
                case ${words[i]} in
                        --tenant) ((i++)); continue ;;
                        -*) continue ;;
                esac
                if [[ -z $object ]]; then object=${words[i]}
                elif [[ -z $verb ]]; then verb=${words[i]}
                elif [[ -z $sub ]]; then sub=${words[i]}; ((nargs++))
                else ((nargs++))
                fi
        done

        # Values of options, given as --opt=VALUE or --opt VALUE.
        local opt="" value=$cur
        if [[ $split == true ]]; then
                opt=$prev
        elif [[ $prev == --* ]]; then
                case $prev in
                        --tenant|--role|--email-verified|--grant|--scope|--signing-alg|--shell|--home|--type|--state|--sort) opt=$prev ;;
                        --kind|--signup|--link-by-email|--enabled|--client-secret-file) opt=$prev ;;
                        --password-file|--database|--config) opt=$prev ;;
                        --open-signup|--password-min-length|--password-dictionary-check|--password-min-classes|\
                        --password-max-repeat|--password-user-check|--mfa-required|--session-lifetime|\
                        --refresh-idle-lifetime|--refresh-absolute-lifetime|--max-users|--max-applications) opt=$prev ;;
                        --real-name|--email|--uid|--gid|--description|--display-name|--limit|--after|--target|--action|--redirect-uri|--post-logout-redirect-uri|\
                        --allowed-origin|--env|--name|--application|--expires-in|--overlap|--search|--created-after|--created-before|\
                        --client-id|--icon-url|--allowed-domain|--issuer|--authorization-endpoint|--token-endpoint|\
                        --userinfo-endpoint|--jwks-uri|--api-url|--allowed-tid)
                                return ;;
                esac
        fi
        case $opt in
                --tenant)         COMPREPLY=($(compgen -W "$(_tesseractl_tenants)" -- "$value")); return ;;
                --role)           COMPREPLY=($(compgen -W "member admin owner" -- "$value")); return ;;
                --email-verified) COMPREPLY=($(compgen -W "yes no" -- "$value")); return ;;
                --state)          COMPREPLY=($(compgen -W "active disabled locked expired" -- "$value")); return ;;
                --sort)           COMPREPLY=($(compgen -W "name created" -- "$value")); return ;;
                --grant)          COMPREPLY=($(compgen -W "authorization_code refresh_token client_credentials" -- "$value")); return ;;
                --scope)          COMPREPLY=($(compgen -W "openid profile email offline_access tessera:tenant:read tessera:tenant:write tessera:users:read tessera:users:write tessera:groups:read tessera:groups:write tessera:applications:read tessera:applications:write tessera:keys:read tessera:keys:write tessera:providers:read tessera:providers:write tessera:audit:read" -- "$value")); return ;;
                --type)           COMPREPLY=($(compgen -W "secret publishable" -- "$value")); return ;;
                --kind)           COMPREPLY=($(compgen -W "oidc google microsoft gitlab slack github" -- "$value")); return ;;
                --signup)         COMPREPLY=($(compgen -W "jit existing invitation" -- "$value")); return ;;
                --link-by-email|--enabled)
                                  COMPREPLY=($(compgen -W "yes no" -- "$value")); return ;;
                --client-secret-file|--password-file|--database|--config)
                                  COMPREPLY=($(compgen -f -- "$value")); return ;;
                --max-users|--max-applications)
                                  COMPREPLY=($(compgen -W "none" -- "$value")); return ;;
                --signing-alg)    COMPREPLY=($(compgen -W "RS256 ES256" -- "$value")); return ;;
                --shell)          COMPREPLY=($(compgen -W "$(grep -v '^#' /etc/shells 2>/dev/null)" -- "$value")); return ;;
                --home)           COMPREPLY=($(compgen -d -- "$value")); return ;;
                # A tenant's settings: each also "default" (the site's again).
                --open-signup|--password-dictionary-check|--password-user-check)
                                  COMPREPLY=($(compgen -W "yes no default" -- "$value")); return ;;
                --mfa-required)   COMPREPLY=($(compgen -W "none admins everyone default" -- "$value")); return ;;
                --password-min-length|--password-min-classes|--password-max-repeat|--session-lifetime|\
                --refresh-idle-lifetime|--refresh-absolute-lifetime)
                                  COMPREPLY=($(compgen -W "default" -- "$value")); return ;;
        esac

        if [[ -z $object ]]; then
                if [[ $cur == -* ]]; then
                        COMPREPLY=($(compgen -W "--json --tenant= --help --version" -- "$cur"))
                else
                        COMPREPLY=($(compgen -W "tenant user group session audit app key api-key invitation provider mail operator entitlement store" -- "$cur"))
                fi
        elif [[ -z $verb ]]; then
                COMPREPLY=($(compgen -W "$(_tesseractl_verbs "$object")" -- "$cur"))
        elif [[ $cur == -* ]]; then
                COMPREPLY=($(compgen -W "$(_tesseractl_verb_options "$object" "$verb") --tenant= --json --help" -- "$cur"))
        elif [[ "$object $verb" == "store migrate-to" && $nargs -eq 0 ]]; then
                COMPREPLY=($(compgen -W "postgresql" -- "$cur"))
        elif [[ "$object $verb" == "user totp" && -z $sub ]]; then
                COMPREPLY=($(compgen -W "enroll confirm disable backup-codes" -- "$cur"))
        elif [[ ( $object == tenant && $verb != create && $verb != list ) || $object == entitlement ]] && [[ $nargs -eq 0 ]]; then
                COMPREPLY=($(compgen -W "$(_tesseractl_tenants)" -- "$cur"))
        fi
        # An option that takes a value: no space after its '='.
        if [[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == *= ]]; then
                compopt -o nospace 2>/dev/null
        fi
}
complete -F _tesseractl tesseractl
