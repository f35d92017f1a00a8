# Sourced by the benchmarks that need a firewall between reach and its targets.
#
# veth_pair SRV CLI SERVER_ADDR CLIENT_ADDR: makes namespaces SRV and CLI joined by a veth pair
# (SERVER_ADDR/30 on the server side, CLIENT_ADDR/30 on the client side), both ends and loopback
# up. No default route: nothing can leave the pair. The caller deletes both namespaces (which
# removes the pair) in its cleanup. Prints the server end's interface name.
veth_pair() {
    local srv=$1 cli=$2 server_addr=$3 client_addr=$4
    local vs="vs$$" vc="vc$$"
    ip netns add "$srv"
    ip netns add "$cli"
    ip link add "$vs" type veth peer name "$vc"
    ip link set "$vs" netns "$srv"
    ip link set "$vc" netns "$cli"
    ip -n "$srv" addr add "$server_addr/30" dev "$vs"
    ip -n "$cli" addr add "$client_addr/30" dev "$vc"
    for ns in "$srv" "$cli"; do ip -n "$ns" link set lo up; done
    ip -n "$srv" link set "$vs" up
    ip -n "$cli" link set "$vc" up
    echo "$vs"
}
