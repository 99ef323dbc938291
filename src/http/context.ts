import type { Context } from "hono";
import type { Repository } from "../db/repository";

export type Principal = { kind: "admin" } | { kind: "team"; teamId: string };

export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    repo: Repository;
    principal: Principal;
  };
}

export type AppContext = Context<AppEnv>;
