#!/bin/sh
# The firewall rule that goes with an fwmark cluster's VIP set (brother.yml(5), "vips"), on every
# balancer, at boot, before Pacemaker starts. For the cluster "app" of plimsoll.crm:
#
#   - {cluster_name: app, fwmark: 101, vips: [198.51.100.20:443/tcp], nodes: [...]}
#
# While the cluster runs on a balancer, brother keeps the set plimsoll-fwm-101 holding exactly its
# vips (ADDRESS,PROTO:PORT); when it stops there the set is emptied, so the rule marks nothing and the
# IPVS fwmark service (deleted after its drain) sees no packets. The set is created here first so
# that the rule can be loaded before brother runs; brother adopts an existing hash:ip,port set.
# IPv6 VIPs live in plimsoll-fwm-101-v6 (family inet6), marked by the same rule with ip6tables.
set -eu
mark=101
ipset create "plimsoll-fwm-$mark" hash:ip,port family inet -exist
iptables -t mangle -C PREROUTING -m set --match-set "plimsoll-fwm-$mark" dst,dst -j MARK --set-mark "$mark" 2>/dev/null ||
    iptables -t mangle -A PREROUTING -m set --match-set "plimsoll-fwm-$mark" dst,dst -j MARK --set-mark "$mark"
# IPv6:
# ipset create "plimsoll-fwm-$mark-v6" hash:ip,port family inet6 -exist
# ip6tables -t mangle -A PREROUTING -m set --match-set "plimsoll-fwm-$mark-v6" dst,dst -j MARK --set-mark "$mark"
