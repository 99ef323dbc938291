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

  it("allows http://127.0.0.1 and http://localhost only in development mode", () => {
    for (const url of ["http://127.0.0.1:8787/h", "http://localhost:3000/h"]) {
      expect(webhookUrlProblem(url, false), url).not.toBeNull();
      expect(webhookUrlProblem(url, true), url).toBeNull();
    }
    expect(webhookUrlProblem("http://10.0.0.1/h", true)).not.toBeNull();
    expect(webhookUrlProblem("http://example.com/h", true)).toBe("must use https://");
  });
});
