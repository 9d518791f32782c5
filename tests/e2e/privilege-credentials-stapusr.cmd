# Two loads of the module, each with its own credentials (see
# privilege-credentials.cmd): mask 0, refused; mask 2 (stapusr), started.
start() { # MASK_OCTAL
	insmod ./$MOD.ko || exit 1
	c=/proc/systemtap/$MOD/.cmd
	printf "\\137\\0\\0\\0\\$1\\0\\0\\0" > $c || echo "credentials refused"
	printf 'P\0\0\0\0\0\0\0\0\0\0\0' > $c || echo "start refused"
	(timeout 2 cat $c > replies; :) 2>/dev/null
	strings replies | grep -F 'ERROR:'
	r=$(xxd -p replies | tr -d '\n')
	case "$r" in
	*5000000000000000eaffffff*) echo "START res -22" ;;
	*500000000000000000000000*) echo "START res 0" ;;
	*) echo "no START reply: $r" ;;
	esac
	printf 'Q\0\0\0' > $c
	rmmod $MOD
}
start 0
start 2
