#!/usr/bin/python3
# mdns-zc.py: the python3-zeroconf side of the mdns tests, and a one-shot (legacy) query.
#   mdns-zc.py browse ADDR SECONDS         print "NAME PORT FP" per _dipus._tcp instance seen
#   mdns-zc.py publish ADDR NAME PORT FP   register NAME._dipus._tcp.local until killed
#   mdns-zc.py legacy ADDR FQDN            one SRV query from ADDR's ephemeral port to
#                                          224.0.0.251: "ID TYPE TTL QDCOUNT" per record
import socket, struct, sys, time

def legacy(local, fqdn):
    q = struct.pack(">HHHHHH", 0x4242, 0, 1, 0, 0, 0)
    for label in fqdn.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack(">HH", 33, 1)          # SRV, IN, no QU bit
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(local))
    s.bind((local, 0))
    s.settimeout(3)
    s.sendto(q, ("224.0.0.251", 5353))
    data, src = s.recvfrom(9000)
    rid, flags, qd, an, ns, ar = struct.unpack(">HHHHHH", data[:12])
    def name(o):
        while True:
            n = data[o]
            if n >= 0xc0:
                return o + 2
            o += 1 + n
            if n == 0:
                return o
    o = 12
    for _ in range(qd):
        o = name(o) + 4
    for _ in range(an + ns + ar):
        o = name(o)
        t, c, ttl, rdlen = struct.unpack(">HHIH", data[o:o + 10])
        print("%d %d %d %d" % (rid, t, ttl, qd))
        o += 10 + rdlen

def main():
    mode = sys.argv[1]
    if mode == "legacy":
        return legacy(sys.argv[2], sys.argv[3])
    import zeroconf
    zc = zeroconf.Zeroconf(interfaces=[sys.argv[2]])
    if mode == "publish":
        name, port, fp = sys.argv[3], int(sys.argv[4]), sys.argv[5]
        info = zeroconf.ServiceInfo("_dipus._tcp.local.", name + "._dipus._tcp.local.",
                                    addresses=[socket.inet_aton(sys.argv[2])], port=port,
                                    properties={"txtvers": "1", "fp": fp, "sep": "1-2"},
                                    server="zchost.local.")
        zc.register_service(info)
        print("registered", flush=True)
        while True:
            time.sleep(1)
    seen = {}
    class L:
        def add_service(self, z, t, n): seen[n] = 1
        def update_service(self, z, t, n): seen[n] = 1
        def remove_service(self, z, t, n): pass
    zeroconf.ServiceBrowser(zc, "_dipus._tcp.local.", L())
    end = time.time() + float(sys.argv[3])
    done = set()
    while time.time() < end:
        for n in list(seen):
            if n in done:
                continue
            info = zc.get_service_info("_dipus._tcp.local.", n, timeout=1000)
            if info:
                fp = (info.properties or {}).get(b"fp", b"").decode()
                print(n.split(".")[0], info.port, fp, flush=True)
                done.add(n)
        time.sleep(0.1)
    zc.close()

main()
