#!/bin/sh
# Two balancers under Pacemaker + Corosync, with pcs: the same configuration as plimsoll.crm (read its
# comments; Corosync's timing is in corosync.conf). Run once, on one balancer of a running cluster. To try it on a file instead:
#   pcs cluster cib /tmp/cib.xml; PCS="pcs -f /tmp/cib.xml" sh examples/pacemaker/plimsoll.pcs.sh
set -eu
pcs=${PCS:-pcs}

# Fencing is not optional in production (stonith-enabled is true by default, and nothing starts
# without a fencing device), for example with IPMI (fence-agents):
#   $pcs stonith create fence-lb1 fence_ipmilan ip=10.0.9.1 username=admin password=secret pcmk_host_list=lb1
#   $pcs stonith create fence-lb2 fence_ipmilan ip=10.0.9.2 username=admin password=secret pcmk_host_list=lb2
$pcs resource defaults update resource-stickiness=100
# No throttling of a failover's operations on a loaded balancer (plimsoll.crm says what it costs).
$pcs property set load-threshold=1000%

$pcs resource create brother ocf:plimsoll:brother \
    config=/etc/brother/brother.yml start_clusters=in-kernel \
    state_file=/var/lib/brother/state.json socket=/run/brother/brother.sock listen=127.0.0.1:9292 \
    op start timeout=30s op stop timeout=30s \
    monitor interval=10s timeout=20s \
    monitor interval=30s timeout=20s OCF_CHECK_LEVEL=10 \
    clone interleave=true

# Cluster "web": an address service, direct routing (see plimsoll.crm on lvs_support).
# drain_wait=false: the VIP moves without waiting for the old balancer's drain (plimsoll.crm: the cost).
$pcs resource create web ocf:plimsoll:brother-cluster cluster=web socket=/run/brother/brother.sock drain_wait=false \
    op start timeout=20s stop timeout=60s monitor interval=10s timeout=20s --group web-lb
$pcs resource create web-vip ocf:heartbeat:IPaddr2 ip=198.51.100.10 cidr_netmask=32 nic=eth0 lvs_support=true \
    op monitor interval=10s timeout=20s --group web-lb

# Cluster "app": fwmark 101 and its VIP set (the marking rule: fwmark-firewall.sh).
$pcs resource create app ocf:plimsoll:brother-cluster cluster=app socket=/run/brother/brother.sock drain_wait=false \
    op start timeout=20s stop timeout=60s monitor interval=10s timeout=20s --group app-lb
$pcs resource create app-vip ocf:heartbeat:IPaddr2 ip=198.51.100.20 cidr_netmask=32 nic=eth0 lvs_support=true \
    op monitor interval=10s timeout=20s --group app-lb

for lb in web-lb app-lb; do
    $pcs constraint order start brother-clone "then" start "$lb"
    $pcs constraint colocation add "$lb" with brother-clone INFINITY
done

# IPVS connection sync (see plimsoll.crm): master where web-lb runs, backup on the other balancer.
$pcs resource create sync ocf:plimsoll:brother-sync config=/etc/brother/brother.yml \
    op start timeout=20s stop timeout=20s promote timeout=20s demote timeout=20s \
    monitor interval=11s role=Promoted timeout=20s monitor interval=10s role=Unpromoted timeout=20s \
    promotable interleave=true
$pcs constraint colocation add Promoted sync-clone with web-lb INFINITY
