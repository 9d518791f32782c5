# tests/lib/netns.sh: sourced by test scripts that must run in a private
# network and mount namespace (only their own loopback; scratch mounts).
#
#   in_private_netns MARKER "$0" "$@"
#
# When the variable MARKER is unset: runs the script again inside
# `unshare --net --mount` with MARKER=1 and exits with its status; a
# failure to enter the namespace counts as one failed test.  When MARKER
# is set (we are inside): returns.
in_private_netns() {
	local marker=$1 userns= rc
	shift
	[ -n "${!marker:-}" ] && return 0
	[ "$(id -u)" = 0 ] || userns=--map-root-user
	env "$marker=1" unshare $userns --net --mount --propagation private "$@"
	rc=$?
	if [ $rc -ne 0 ] && [ $rc -ne 1 ]; then
		echo "cannot run in a private network namespace (unshare failed: $rc)"
		echo "0 passed, 1 failed"
		exit 1
	fi
	exit $rc
}
