import type { Child } from "hono/jsx";
import { createContext, useContext } from "hono/jsx";
import { can, type Permission } from "../../security/admin-roles";
import { IDEMPOTENCY_FIELD } from "../forms";
import { CsrfField, usePageRequest } from "./layout";

// A form that acts (the rendering half of actions.ts): the CSRF token, a one-time idempotency
// key made for this rendering, the fields, one button. Shown only to a key whose role may do
// what the form does. After a refusal, the fields come back with what was typed.

/** What was typed into the form being rendered, when it was just refused; read by the fields. */
const TypedValues = createContext<Record<string, string> | null>(null);
export const useTypedValue = (name: string): string | undefined => useContext(TypedValues)?.[name];

export function ActionForm(props: {
  action: string;
  label: string;
  /** The permission the API will ask for: without it the form is not shown. */
  permission: Permission;
  danger?: boolean;
  /** Names the button for a screen reader where the label alone is ambiguous (one button per row). */
  buttonName?: string;
  /** A heading: the form is then a section of its own, its fields above the button. */
  title?: string;
  children?: Child;
}) {
  const { admin, flash } = usePageRequest();
  if (!admin || !can(admin, props.permission)) return null;
  const typed = flash?.form === props.action ? (flash.values ?? null) : null;
  const form = (
    <form method="post" action={props.action} class={props.title ? "block" : "inline"}>
      <CsrfField />
      <input type="hidden" name={IDEMPOTENCY_FIELD} value={crypto.randomUUID()} />
      <TypedValues.Provider value={typed}>{props.children}</TypedValues.Provider>
      <button type="submit" class={props.danger ? "danger" : undefined} aria-label={props.buttonName}>
        {props.label}
      </button>
    </form>
  );
  if (!props.title) return form;
  const id = `form-${props.action.replace(/[^a-z0-9]+/gi, "-")}`;
  return (
    <section aria-labelledby={id}>
      <h2 id={id}>{props.title}</h2>
      {form}
    </section>
  );
}
