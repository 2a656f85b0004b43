#!/bin/bash
# Regenerates the captures in this directory (run as root on a Linux host with XFRM).
# Each capture runs one `ip xfrm` command under strace in a throwaway network namespace and
# keeps the bytes strace dumps for each netlink sendmsg/sendto (">") and recvmsg ("<") buffer:
# exactly the iov contents, i.e. the netlink messages, without the sockaddr/iov framing.
# Setup commands are run without strace and listed in the header.
set -u
NS=salabel-xwcap
DIR=$(cd "$(dirname "$0")" && pwd)
STRACE=(strace -f -e trace=sendmsg,recvmsg,sendto,recvfrom -xx -s 65535 -e write=all -e read=all)
VERSION=$(ip -V)
KERNEL="Linux $(uname -r) $(uname -m)"

fresh() { ip netns del $NS 2>/dev/null; ip netns add $NS; ip -n $NS link set lo up; }

# to_capture NAME "description" -- reads strace output on stdin, writes NAME.txt
to_capture() {
    local name=$1 cmd=$2 setup=$3
    {
        echo "# command: $cmd"
        echo "# iproute2: $VERSION"
        echo "# kernel: $KERNEL (no SELinux, no AH/ESP transforms)"
        [ -n "$setup" ] && echo "# setup: $setup"
        echo "# method: ${STRACE[*]} ip -n NS xfrm ...; '>' = sent buffer, '<' = received buffer"
        # Only the NETLINK_XFRM socket: the fd of the first buffer (ip also opens an rtnetlink
        # socket to name interfaces; its messages are left out).
        awk '
            /^(\[pid +[0-9]+\] )?(sendmsg|sendto|recvmsg|recvfrom)\(/ {
                fd = $0; sub(/^[^(]*\(/, "", fd); sub(/,.*/, "", fd)
                dir = ($0 ~ /(sendmsg|sendto)\(/) ? ">" : "<"
                next
            }
            /^ \| [0-9a-f]{5}  / {
                if (xfrmfd == "") xfrmfd = fd
                if (fd != xfrmfd) next
                if ($2 == "00000") print dir
                line = substr($0, 11, 49); gsub(/  +/, " ", line); sub(/ +$/, "", line)
                printf "%04x:%s\n", strtonum("0x" $2), " " line
            }
        '
    } > "$DIR/$name.txt"
}

# cap NAME SETUP COMMAND...  (SETUP is a ;-separated list of ip arguments run before, or "")
cap() {
    local name=$1 setup=$2; shift 2
    fresh
    if [ -n "$setup" ]; then
        IFS=';' read -ra cmds <<< "$setup"
        for c in "${cmds[@]}"; do eval "ip -n $NS $c" >/dev/null 2>&1; done
    fi
    "${STRACE[@]}" ip -n $NS "$@" 2>&1 >/dev/null | to_capture "$name" "ip $(printf '%q ' "$@" | sed 's/ $//')" "$setup"
}

CTX=system_u:object_r:ipsec_spd_t:s0
CTX2=system_u:system_r:unconfined_t:s0-s0:c0.c1023

# --- policies ---
cap policy-add-ipv6-tunnel "" xfrm policy add src 2001:db8::1/128 dst 2001:db8:1::/48 proto tcp sport 1234 dport 443 dir out priority 100 mark 0x10 mask 0xff if_id 7 ctx "$CTX2" tmpl src 2001:db8::1 dst 2001:db8::2 proto esp mode tunnel reqid 5 level required tmpl proto comp mode transport level use
cap policy-add-ipv4-block "" xfrm policy add src 10.0.0.0/24 dst 10.1.0.0/16 proto udp sport 500 dport 4500 dir in index 0 action block flag localok priority 7 ctx "$CTX"
cap policy-add-limits "" xfrm policy add src 192.0.2.1 dst 192.0.2.2 dir fwd limit time-soft 10 limit time-hard 20 limit byte-soft 1000 limit packet-hard 50 tmpl src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x1234 mode tunnel reqid 1
cap policy-add-sub "" xfrm policy add src 10.0.0.1 dst 10.0.0.2 dir in ptype sub tmpl proto esp
cap policy-update "" xfrm policy update src 10.0.0.1 dst 10.0.0.2 proto icmp type 8 code 0 dir out ctx "$CTX" tmpl proto esp
cap policy-show-ipv6 "xfrm policy add src 2001:db8::1/128 dst 2001:db8:1::/48 proto tcp sport 1234 dport 443 dir out priority 100 mark 0x10 mask 0xff if_id 7 ctx $CTX2 tmpl src 2001:db8::1 dst 2001:db8::2 proto esp mode tunnel reqid 5 level required tmpl proto comp mode transport level use;xfrm policy add src 192.0.2.1 dst 192.0.2.2 dir fwd limit time-soft 10 limit time-hard 20 tmpl src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x1234 mode tunnel reqid 1" xfrm policy show
cap policy-get-selector "xfrm policy add src 10.0.0.1 dst 10.0.0.2 proto tcp dir out ctx $CTX tmpl proto esp" xfrm policy get src 10.0.0.1 dst 10.0.0.2 proto tcp dir out ctx "$CTX"
cap policy-get-index "xfrm policy add src 10.0.0.1 dst 10.0.0.2 dir out mark 5 if_id 3 tmpl proto esp" xfrm policy get index 1 dir out mark 5 if_id 3
cap policy-delete-selector "xfrm policy add src 10.0.0.1 dst 10.0.0.2 proto tcp dir out ctx $CTX tmpl proto esp" xfrm policy delete src 10.0.0.1 dst 10.0.0.2 proto tcp dir out ctx "$CTX"
cap policy-delete-index "xfrm policy add src 10.0.0.1 dst 10.0.0.2 dir in tmpl proto esp" xfrm policy delete index 8 dir in
cap policy-deleteall "xfrm policy add src 10.0.0.1 dst 10.0.0.2 dir out tmpl proto esp;xfrm policy add src 10.0.0.2 dst 10.0.0.1 dir in" xfrm policy deleteall
cap policy-flush "xfrm policy add src 10.0.0.1 dst 10.0.0.2 dir out" xfrm policy flush
cap policy-flush-sub "" xfrm policy flush ptype sub

# --- SAs (this kernel has no ESP/AH: the adds are NACKed, the requests are what matters) ---
cap sa-add-aead "" xfrm state add src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x1000 reqid 1 mode transport ctx "$CTX" aead 'rfc4106(gcm(aes))' 0x00112233445566778899aabbccddeeff01020304 128
cap sa-add-cbc-hmac "" xfrm state add src 2001:db8::1 dst 2001:db8::2 proto esp spi 0xc0ffee01 reqid 9 mode tunnel ctx "$CTX2" enc 'cbc(aes)' 0x000102030405060708090a0b0c0d0e0f auth-trunc 'hmac(sha256)' 0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f 128 replay-window 32 flag noecn flag align4 sel src 2001:db8::/64 dst 2001:db8:1::/64 mark 0x20 mask 0xf0 if_id 11
cap sa-add-encap "" xfrm state add src 198.51.100.1 dst 203.0.113.2 proto esp spi 0x2000 mode tunnel aead 'rfc4106(gcm(aes))' 0x000102030405060708090a0b0c0d0e0f10111213 128 encap espinudp 4500 4500 0.0.0.0 limit time-hard 3600 limit byte-soft 100000
cap sa-add-esn "" xfrm state add src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x3000 mode transport flag esn replay-window 1024 aead 'rfc4106(gcm(aes))' 0x000102030405060708090a0b0c0d0e0f10111213 128
cap sa-add-comp "" xfrm state add src 192.0.2.1 dst 192.0.2.2 proto comp spi 0x4000 comp deflate
cap sa-update "" xfrm state update src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x1000 reqid 1 ctx "$CTX" aead 'rfc4106(gcm(aes))' 0x00112233445566778899aabbccddeeff01020304 128
cap sa-allocspi "" xfrm state allocspi src 192.0.2.1 dst 192.0.2.2 proto esp mode tunnel reqid 3 mark 0x7 min 0x100 max 0x1ff
cap sa-allocspi-ipv6 "" xfrm state allocspi src 2001:db8::1 dst 2001:db8::2 proto esp
cap sa-show-larval "xfrm state allocspi src 192.0.2.1 dst 192.0.2.2 proto esp mode tunnel reqid 3 mark 0x7 min 0x100 max 0x1ff" xfrm state show
cap sa-get "xfrm state allocspi src 192.0.2.1 dst 192.0.2.2 proto esp min 0x100 max 0x100" xfrm state get src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x100
cap sa-delete "xfrm state allocspi src 192.0.2.1 dst 192.0.2.2 proto esp mark 9 min 0x100 max 0x100" xfrm state delete src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x100 mark 9
cap sa-deleteall "xfrm state allocspi src 192.0.2.1 dst 192.0.2.2 proto esp min 0x100 max 0x100" xfrm state deleteall
cap sa-flush "" xfrm state flush
cap sa-flush-esp "" xfrm state flush proto esp


# --- notifications: one `ip xfrm monitor` session while the commands below run ---
monitor_cap() {
    local name=$1; shift
    fresh
    ip netns exec $NS sysctl -qw net.core.xfrm_acq_expires=2
    "${STRACE[@]}" ip -n $NS xfrm monitor > /tmp/$name.mon 2>&1 &
    local pid=$!
    sleep 1
    local setup=""
    for c in "$@"; do
        eval "$c" >/dev/null 2>&1
        setup="$setup; $c"
        sleep 0.3
    done
    sleep 1
    kill $pid; wait $pid 2>/dev/null
    to_capture "$name" "ip xfrm monitor" "net.core.xfrm_acq_expires=2 in the netns; then, while it ran:${setup#;}" < /tmp/$name.mon
    rm -f /tmp/$name.mon
}
monitor_cap monitor-acquire-expire \
    "ip -n $NS link add v0 type veth peer name v1" \
    "ip -n $NS addr add 10.9.0.1/24 dev v0" \
    "ip -n $NS link set v0 up" \
    "ip -n $NS link set v1 up" \
    "ip -n $NS xfrm policy add src 10.9.0.0/24 dst 10.9.0.2 proto udp dir out ctx $CTX tmpl proto esp mode transport reqid 4" \
    "ip netns exec $NS bash -c 'echo x > /dev/udp/10.9.0.2/9'" \
    "ip -n $NS xfrm state allocspi src 192.0.2.1 dst 192.0.2.2 proto esp reqid 6 min 0x300 max 0x300" \
    "sleep 3"
monitor_cap monitor-policy-events \
    "ip -n $NS xfrm policy add src 10.0.0.1 dst 10.0.0.2 dir out mark 3 if_id 4 limit time-soft 1 limit time-hard 2 tmpl proto esp" \
    "sleep 3" \
    "ip -n $NS xfrm policy add src 10.0.0.3 dst 10.0.0.4 dir in priority 9 tmpl proto esp" \
    "ip -n $NS xfrm policy update src 10.0.0.3 dst 10.0.0.4 dir in priority 10 tmpl proto ah" \
    "ip -n $NS xfrm policy delete src 10.0.0.3 dst 10.0.0.4 dir in" \
    "ip -n $NS xfrm policy add src 10.0.0.5 dst 10.0.0.6 dir fwd" \
    "ip -n $NS xfrm policy flush"
monitor_cap monitor-sa-events \
    "ip -n $NS xfrm state allocspi src 192.0.2.1 dst 192.0.2.2 proto esp min 0x100 max 0x100" \
    "ip -n $NS xfrm state delete src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x100" \
    "ip -n $NS xfrm state allocspi src 192.0.2.1 dst 192.0.2.2 proto esp min 0x200 max 0x200" \
    "ip -n $NS xfrm state flush" \
    "ip -n $NS xfrm state flush proto ah"
ip netns del $NS 2>/dev/null
