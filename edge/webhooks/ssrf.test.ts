/** The SSRF guard's address rules, IPv4 and IPv6 (incl. mapped and embedding forms), and the DNS-checking lookup. */
import { describe, expect, it } from "vitest";
import { isBlockedAddress, parseIPv6, urlProblem } from "./ssrf.js";
import { guardedLookup, nodeTransport } from "./transport-node.js";

const blocked = [
  "0.0.0.0",
  "10.0.0.1",
  "100.64.0.1",
  "127.0.0.1",
  "127.255.255.254",
  "169.254.169.254",
  "172.16.0.1",
  "172.31.255.255",
  "192.168.1.1",
  "192.0.0.8",
  "198.18.0.1",
  "224.0.0.1",
  "255.255.255.255",
  "::",
  "::1",
  "fe80::1",
  "fc00::1",
  "fd00:ec2::254",
  "ff02::1",
  "::ffff:127.0.0.1",
  "::ffff:7f00:1",
  "::ffff:10.1.2.3",
  "::ffff:169.254.169.254",
  "0:0:0:0:0:ffff:a9fe:a9fe",
  "::127.0.0.1",
  "64:ff9b::10.0.0.1",
  "64:ff9b::7f00:1",
  "2002:7f00:1::",
  "2002:a9fe:a9fe::1",
  "2001:0:4136:e378:8000:63bf:3fff:fdd2",
  "2001:db8::1",
  "fe80::1%eth0",
  "[::1]",
];
const allowed = ["93.184.216.34", "8.8.8.8", "172.32.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"];

describe("SSRF guard", () => {
  it.each(blocked)("blocks %s", (ip) => expect(isBlockedAddress(ip)).toBe(true));
  it.each(allowed)("allows %s", (ip) => expect(isBlockedAddress(ip)).toBe(false));

  it("parses IPv6 forms", () => {
    expect(parseIPv6("::ffff:1.2.3.4")).toEqual([0, 0, 0, 0, 0, 0xffff, 0x102, 0x304]);
    expect(parseIPv6("1::")).toEqual([1, 0, 0, 0, 0, 0, 0, 0]);
    expect(parseIPv6("1:2:3:4:5:6:7:8")).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(parseIPv6("1::2::3")).toBeUndefined();
    expect(parseIPv6("12345::")).toBeUndefined();
  });

  it("checks URLs without DNS: scheme, credentials, local names, IP literals", () => {
    expect(urlProblem("https://example.com/h", false)).toBeUndefined();
    expect(urlProblem("http://localhost:8080/", false)).toMatch(/local name/);
    // trailing dots resolve like the bare name: all of them go before the name rules (issue 15)
    expect(urlProblem("http://localhost..:8080/", false)).toMatch(/local name/);
    expect(urlProblem("http://localhost...:8080/", false)).toMatch(/local name/);
    expect(urlProblem("http://foo.internal../", false)).toMatch(/local name/);
    expect(urlProblem("http://example..com/", false)).toMatch(/empty label/);
    expect(urlProblem("http://example.com./", false)).toBeUndefined();
    expect(urlProblem("http://metadata.google.internal/", false)).toMatch(/local name/);
    expect(urlProblem("http://[::ffff:127.0.0.1]/", false)).toMatch(/private/);
    expect(urlProblem("http://2130706433/", false)).toBeDefined(); // decimal 127.0.0.1: URL normalizes it to 127.0.0.1
    expect(urlProblem("http://0x7f.1/", false)).toBeDefined();
    expect(urlProblem("gopher://example.com/", false)).toMatch(/http/);
    expect(urlProblem("http://127.0.0.1:9/", true)).toBeUndefined();
  });

  it("refuses a name that resolves to a loopback address, at connect time", async () => {
    const err = await new Promise<NodeJS.ErrnoException | null>((resolve) => guardedLookup("localhost", {}, (e) => resolve(e)));
    expect(err?.code).toBe("EBLOCKED");
    // through the transport (no redirects, no DNS escape): localhost.localdomain-style names are refused by name, so use an IP-free name from /etc/hosts
    await expect(nodeTransport({ url: "http://127.0.0.1:9/", headers: {}, body: "{}", timeoutMs: 500, allowPrivate: false })).rejects.toMatchObject({
      code: "blocked_address",
    });
  });
});
