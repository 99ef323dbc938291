import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import worker from "../src/index";

// The Worker called directly with bindings a test chooses (a counting D1, a stand-in for the
// team objects' namespace), each request's background work awaited before the next.

/** env.DB, counting every statement the Worker prepares (its own D1 reads and writes). */
export function countingDb() {
  const counter = { statements: 0 };
  const wrap = <T extends object>(target: T): T =>
    new Proxy(target, {
      get(t, prop) {
        const value = Reflect.get(t, prop);
        if (typeof value !== "function") return value;
        if (prop === "prepare" || prop === "exec") {
          return (...args: unknown[]) => {
            counter.statements += 1;
            return value.apply(t, args);
          };
        }
        if (prop === "withSession") return (...args: unknown[]) => wrap(value.apply(t, args));
        return value.bind(t);
      },
    });
  return { db: wrap(env.DB), counter };
}

export interface Sent {
  status: number;
  text: string;
  body: any;
}

/** The Worker with a counting D1 and these bindings over the test pool's. */
export function gatewayWith(bindings: Partial<Env> = {}) {
  const { db, counter } = countingDb();
  /** A request with a team or admin key as Bearer (null: none, the headers carry the key), and any other headers. */
  const send = async (
    method: string,
    path: string,
    key: string | null,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Sent> => {
    const ctx = createExecutionContext();
    const res = await worker.fetch(
      new Request(`http://gateway.test${path}`, {
        method,
        headers: { ...(key === null ? {} : { authorization: `Bearer ${key}` }), "content-type": "application/json", ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
      { ...env, DB: db, ...bindings } as Env,
      ctx,
    );
    const text = await res.text();
    await waitOnExecutionContext(ctx);
    return { status: res.status, text, body: text.startsWith("{") ? JSON.parse(text) : null };
  };
  return { send, counter };
}
