#!/usr/bin/env bash
# Kaldi-style option parsing, sourced by a script after it sets its defaults:
#   stage=0; nj=4; . utils/parse_options.sh
# turns "--stage 3 --nj=2 --iemocap-root /x" into stage=3 nj=2 iemocap_root=/x.
# An option must name a variable the script already defined; otherwise it is an error.
# "--config FILE" sources FILE first (name=value lines). "--help" prints $help_message, then
# the script's options with the values in force: every `name=default  # comment` line of the
# script before the line that sources this file ("## Title" lines head groups of them).
_print_options() {
  local line name
  while IFS= read -r line; do
    if [[ $line =~ ^\.\ .*parse_options\.sh ]]; then break; fi
    if [[ $line =~ ^##\ (.*)$ ]]; then printf '%s\n' "${BASH_REMATCH[1]}"; fi
    if [[ $line =~ ^([a-z_][a-z0-9_]*)=[^#]*(#\ (.*))?$ ]]; then
      name=${BASH_REMATCH[1]}
      [ "$name" != help_message ] || continue
      printf '  --%-15s %-26s %s\n' "$name" "'${!name-}'" "${BASH_REMATCH[3]}"
    fi
  done < "$1"
}
while [ $# -gt 0 ]; do
  case "$1" in
    --help|-h)
      if [ -n "${help_message:-}" ]; then printf '%s\n' "$help_message"; fi
      _print_options "$0"
      exit 0 ;;
    --*=*)
      _name=${1%%=*}; _value=${1#*=}; shift ;;
    --*)
      _name=$1
      [ $# -ge 2 ] || { echo "$0: option $1 needs a value" >&2; exit 1; }
      _value=$2; shift 2 ;;
    *) break ;;
  esac
  _name=${_name#--}; _name=${_name//-/_}
  if [ "$_name" = config ]; then
    [ -f "$_value" ] || { echo "$0: config file $_value not found" >&2; exit 1; }
    . "$_value"; continue
  fi
  if [ -z "${!_name+set}" ]; then
    echo "$0: unknown option --$_name (not a variable of this script)" >&2; exit 1
  fi
  # Keep booleans honest: a variable that was true/false only takes true/false.
  case "${!_name}" in
    true|false)
      case "$_value" in true|false) ;; *)
        echo "$0: --$_name takes true or false, got '$_value'" >&2; exit 1 ;;
      esac ;;
  esac
  printf -v "$_name" '%s' "$_value"
done
unset _name _value
unset -f _print_options
true
