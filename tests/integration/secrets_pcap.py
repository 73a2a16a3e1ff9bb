# SPDX-License-Identifier: MIT
# Writes the packet capture test_secrets.sh feeds to `reprise capture -r`: one TCP connection
# on loopback (Ethernet frames, a full handshake, a FIN at the end) carrying the HTTP/1.1
# request and response pairs given as files, in order.
#
#   python3 secrets_pcap.py OUT.pcap REQ1 RESP1 [REQ2 RESP2 ...]
import struct
import sys


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frame(src, dst, sport, dport, seq, ack, flags, payload=b""):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0) + payload
    pseudo = struct.pack("!4s4sBBH", src, dst, 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0x4000, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return b"\0" * 6 + b"\0" * 6 + b"\x08\x00" + ip + tcp


out = sys.argv[1]
pairs = [(open(sys.argv[i], "rb").read(), open(sys.argv[i + 1], "rb").read())
         for i in range(2, len(sys.argv), 2)]
c, s = bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1])
cp, sp = 40001, 8080
cseq, sseq = 1000, 5000
SYN, ACK, PSH, FIN = 0x02, 0x10, 0x08, 0x01
pkts = [frame(c, s, cp, sp, cseq, 0, SYN), frame(s, c, sp, cp, sseq, cseq + 1, SYN | ACK),
        frame(c, s, cp, sp, cseq + 1, sseq + 1, ACK)]
cseq += 1
sseq += 1
for req, resp in pairs:
    for off in range(0, len(req), 1400):
        seg = req[off:off + 1400]
        pkts.append(frame(c, s, cp, sp, cseq, sseq, PSH | ACK, seg))
        cseq += len(seg)
    for off in range(0, len(resp), 1400):
        seg = resp[off:off + 1400]
        pkts.append(frame(s, c, sp, cp, sseq, cseq, PSH | ACK, seg))
        sseq += len(seg)
pkts.append(frame(c, s, cp, sp, cseq, sseq, FIN | ACK))
pkts.append(frame(s, c, sp, cp, sseq, cseq + 1, FIN | ACK))
pkts.append(frame(c, s, cp, sp, cseq + 1, sseq + 1, ACK))
with open(out, "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    t = 1767225600
    for i, p in enumerate(pkts):
        f.write(struct.pack("<IIII", t, i * 1000, len(p), len(p)) + p)
