# SPDX-License-Identifier: MIT
# bash completion for reprise. The commands and each command's long options are read from
# reprise's own --help (the program being completed, so a build tree's reprise works too), so
# they are never out of date. Anything that is not an option completes as a file name.

# The commands `reprise --help` lists.
_reprise_commands()
{
    "$1" --help 2>/dev/null | awk '/^Commands:/ { f = 1; next } /^$/ { f = 0 } f { print $1 }'
}

# The long options of command $2 (or reprise's global ones when $2 is empty).
_reprise_options()
{
    "$1" ${2:+"$2"} --help 2>/dev/null |
        awk '/^ +-/ { sub(/^ +/, ""); sub(/  .*$/, ""); n = split($0, w, /[ ,]+/)
                      for (i = 1; i <= n; i++) if (w[i] ~ /^--[a-z]/) print w[i] }'
}

_reprise()
{
    local cur=${COMP_WORDS[COMP_CWORD]} prog=${COMP_WORDS[0]} cmd="" i
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in
            -*) ;;
            *) cmd=${COMP_WORDS[i]}; break ;;
        esac
    done
    COMPREPLY=()
    if [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$(_reprise_options "$prog" "$cmd")" -- "$cur")
    elif [[ -z $cmd ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$(_reprise_commands "$prog")" -- "$cur")
    elif [[ $cmd == help && $COMP_CWORD -eq $((i + 1)) ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$(_reprise_commands "$prog")" -- "$cur")
    fi
    # Nothing offered: bash completes a file name (complete -o default).
}
complete -o default -F _reprise reprise
