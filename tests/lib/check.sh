# tests/lib/check.sh: sourced by test scripts that print one PASS/FAIL line
# per check and end with "$passed passed, $failed failed".
#
#   check_out=FILE        where a check's output goes (set before the first)
#   check NAME CMD...     passes when CMD succeeds; a failure shows the
#                         first 600 bytes of its output
#   pass NAME / fail NAME WHY
#   wait_log FILE PATTERN N [PID]
#                         until FILE has N lines matching PATTERN: 0; 1
#                         after 30 s, or at once when process PID is gone
passed=0 failed=0
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }
check() {
	local n=$1; shift
	if "$@" > "${check_out:?}" 2>&1; then pass "$n"; else fail "$n" "$(head -c 600 "$check_out")"; fi
}
wait_log() {
	local i c
	for i in $(seq 1 300); do
		c=$(grep -c -- "$2" "$1" 2> /dev/null)
		[ "${c:-0}" -ge "$3" ] && return 0
		[ -z "${4:-}" ] || kill -0 "$4" 2> /dev/null || return 1
		sleep 0.1
	done
	return 1
}
