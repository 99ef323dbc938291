import { describe, expect, it } from "vitest";
import { webhookUrlProblem } from "../../src/webhooks/url-rules";

describe("webhook URL rules", () => {
  it("accepts public https URLs", () => {
    for (const url of [
      "https://hooks.example.com/gateway",
      "https://example.com:8443/h?x=1",
      "https://8.8.8.8/h",
      "https://[2606:4700::1111]/h",
    ]) {
      expect(webhookUrlProblem(url, false), url).toBeNull();
    }
  });

  it("refuses http, credentials, and private, loopback, link-local, CGNAT, ULA and internal hosts", () => {
    const refused = [
      "http://example.com/h",
      "ftp://example.com/h",
      "https://user:pw@example.com/h",
      "https://127.0.0.1/h",
      "https://0.0.0.0/h",
      "https://10.0.0.1/h",
      "https://172.16.5.4/h",
      "https://192.168.1.1/h",
      "https://169.254.169.254/latest/meta-data",
      "https://100.64.0.1/h",
      "https://[::1]/h",
      "https://[::]/h",
      "https://[fc00::1]/h",
      "https://[fe80::1]/h",
      "https://[::ffff:10.0.0.1]/h",
      "https://[::ffff:127.0.0.1]/h",
      "https://localhost/h",
      "https://app.localhost/h",
      "https://printer.local/h",
      "https://metadata.google.internal/h",
      "https://intranet/h",
      "https://0x7f000001/h", // URL normalizes it to 127.0.0.1
      "https://2130706433/h",
    ];
    for (const url of refused) expect(webhookUrlProblem(url, false), url).not.toBeNull();
  });

  it("refuses IPv6 forms that carry a refused IPv4 address: mapped, compatible, translated, 6to4, Teredo, and NAT64", () => {
    const refused = [
      "https://[::ffff:0:7f00:1]/h", // IPv4-translated 127.0.0.1
      "https://[::ffff:0:a9fe:a9fe]/h", // IPv4-translated 169.254.169.254
      "https://[0:0:0:0:ffff:0:a00:1]/h", // IPv4-translated 10.0.0.1, written out
      "https://[::ffff:a9fe:a9fe]/h", // IPv4-mapped 169.254.169.254
      "https://[::ffff:c0a8:101]/h", // IPv4-mapped 192.168.1.1, as URL writes it
      "https://[::127.0.0.1]/h", // IPv4-compatible loopback
      "https://[::a00:1]/h", // IPv4-compatible 10.0.0.1
      "https://[2002:a9fe:a9fe::]/h", // 6to4 of 169.254.169.254
      "https://[2002:7f00:1::1]/h", // 6to4 of 127.0.0.1
      "https://[2002:c0a8:101:1::1]/h", // 6to4 of 192.168.1.1
      "https://[64:ff9b::7f00:1]/h", // NAT64 of 127.0.0.1
      "https://[64:ff9b::a9fe:a9fe]/h", // NAT64 of 169.254.169.254
      "https://[2001:0:a9fe:a9fe::1]/h", // Teredo, server 169.254.169.254
      "https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/h", // Teredo, client 127.0.0.1 (inverted)
    ];
    for (const url of refused) expect(webhookUrlProblem(url, false), url).not.toBeNull();
  });

  it("refuses site-local and other reserved IPv6 ranges", () => {
    const refused = [
      "https://[fec0::1]/h", // site-local
      "https://[feff::1]/h",
      "https://[fd12:3456::1]/h", // unique local
      "https://[fe80::1]/h",
      "https://[ff02::1]/h", // multicast
      "https://[100::1]/h", // discard-only
      "https://[2001:db8::1]/h", // documentation
      "https://[3fff::1]/h", // documentation
      "https://[2001:2::1]/h", // benchmarking
      "https://[2001:10::1]/h", // ORCHID
      "https://[64:ff9b::808:808]/h", // NAT64 (a Worker needs none), even of a public address
      "https://[64:ff9b:1::1]/h", // local-use NAT64
      "https://[4000::1]/h", // not global unicast
    ];
    for (const url of refused) expect(webhookUrlProblem(url, false), url).not.toBeNull();
  });

  it("accepts IPv6 forms that carry a public IPv4 address, and global unicast", () => {
    for (const url of [
      "https://[::ffff:808:808]/h", // IPv4-mapped 8.8.8.8
      "https://[2002:808:808::1]/h", // 6to4 of 8.8.8.8
      "https://[2001:4860:4860::8888]/h",
      "https://[2a00:1450:4001:80b::200e]/h",
    ]) {
      expect(webhookUrlProblem(url, false), url).toBeNull();
    }
  });

  it("allows http://127.0.0.1 and http://localhost only in development mode", () => {
    for (const url of ["http://127.0.0.1:8787/h", "http://localhost:3000/h"]) {
      expect(webhookUrlProblem(url, false), url).not.toBeNull();
      expect(webhookUrlProblem(url, true), url).toBeNull();
    }
    expect(webhookUrlProblem("http://10.0.0.1/h", true)).not.toBeNull();
    expect(webhookUrlProblem("http://example.com/h", true)).toBe("must use https://");
  });
});
