import { describe, expect, it } from "vitest";
import { type AdminIdentity, can, GLOBAL_PERMISSIONS, PERMISSIONS, permissionsOf, refusalOf } from "../../src/security/admin-roles";

const key = (role: AdminIdentity["role"], organizationId: string | null = null): AdminIdentity => ({
  keyId: "k1",
  name: "ops",
  role,
  organizationId,
});

describe("what an admin key may do", () => {
  it("an owner may do everything", () => {
    expect(permissionsOf(key("owner"))).toEqual([...PERMISSIONS]);
  });

  it("an admin may do everything but manage admin keys", () => {
    expect(permissionsOf(key("admin"))).toEqual(PERMISSIONS.filter((p) => p !== "admin_keys.manage"));
  });

  it("billing reads, and moves money and prices, but creates nothing", () => {
    const billing = key("billing");
    for (const p of ["credits.write", "jobs.refund", "budget.write", "pricing.write", "teams.read"] as const)
      expect(can(billing, p), p).toBe(true);
    for (const p of ["teams.write", "organizations.create", "model_groups.write", "audit.read"] as const)
      expect(can(billing, p), p).toBe(false);
  });

  it("a viewer only reads", () => {
    expect(permissionsOf(key("viewer")).every((p) => p.endsWith(".read"))).toBe(true);
    expect(can(key("viewer"), "audit.read")).toBe(false);
  });

  it("a key scoped to an organization loses what every organization shares, whatever its role", () => {
    const scoped = key("owner", "acme");
    for (const p of GLOBAL_PERMISSIONS) expect(can(scoped, p), p).toBe(false);
    expect(can(scoped, "teams.write")).toBe(true);
    expect(permissionsOf(scoped)).toEqual(PERMISSIONS.filter((p) => !GLOBAL_PERMISSIONS.has(p)));
  });
});

describe("why a key may not", () => {
  it("names the role and the permission it lacks", () => {
    expect(refusalOf(key("viewer"), "credits.write")).toBe("This admin key (role viewer) lacks the permission credits.write");
  });

  it("names the organization a scoped key is confined to", () => {
    expect(refusalOf(key("owner", "acme"), "pricing.write")).toBe(
      "This admin key is scoped to organization 'acme' and lacks the permission pricing.write, which covers every organization",
    );
  });

  it("is nothing when the key may", () => {
    expect(refusalOf(key("billing", "acme"), "credits.write")).toBeNull();
  });
});
