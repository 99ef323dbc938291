import { useTypedValue } from "./action-form";

// Labelled form controls. Inside a refused form they show what was typed (useTypedValue).

const idOf = (name: string, form?: string) => `f-${form ? `${form}-` : ""}${name}`;

function Hint({ id, hint }: { id: string; hint?: string }) {
  return hint ? (
    <small id={`${id}-hint`} class="hint">
      {hint}
    </small>
  ) : null;
}

export function Field(props: {
  label: string;
  name: string;
  type?: string;
  value?: string | number | null;
  required?: boolean;
  placeholder?: string;
  min?: number;
  step?: string;
  pattern?: string;
  hint?: string;
  /** Tells apart fields of the same name in two forms of one page. */
  form?: string;
}) {
  const id = idOf(props.name, props.form);
  const typed = useTypedValue(props.name);
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <input
        id={id}
        name={props.name}
        type={props.type ?? "text"}
        value={props.type === "password" ? undefined : (typed ?? props.value ?? undefined)}
        required={props.required}
        placeholder={props.placeholder}
        min={props.min}
        step={props.step}
        pattern={props.pattern}
        aria-describedby={props.hint ? `${id}-hint` : undefined}
      />
      <Hint id={id} hint={props.hint} />
    </div>
  );
}

export function TextArea(props: { label: string; name: string; value?: string; required?: boolean; placeholder?: string }) {
  const id = idOf(props.name);
  return (
    <div class="field wide">
      <label for={id}>{props.label}</label>
      <textarea id={id} name={props.name} required={props.required} placeholder={props.placeholder}>
        {useTypedValue(props.name) ?? props.value ?? ""}
      </textarea>
    </div>
  );
}

export type Option = string | { value: string; label: string };

export function Select(props: {
  label: string;
  name: string;
  options: readonly Option[];
  value?: string | null;
  /** The label of an empty first choice ("any", "none"). */
  blank?: string;
  form?: string;
}) {
  const id = idOf(props.name, props.form);
  const chosen = useTypedValue(props.name) ?? props.value;
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <select id={id} name={props.name}>
        {props.blank !== undefined ? <option value="">{props.blank}</option> : null}
        {props.options.map((option) => {
          const { value, label } = typeof option === "string" ? { value: option, label: option } : option;
          return (
            <option value={value} selected={value === chosen}>
              {label}
            </option>
          );
        })}
      </select>
    </div>
  );
}

/** One checkbox per choice, sent as one field with every checked value. */
export function Checkboxes(props: { legend: string; name: string; options: readonly string[]; checked: readonly string[] }) {
  const typed = useTypedValue(props.name);
  const checked = new Set(typed !== undefined ? typed.split(",") : props.checked);
  return (
    <fieldset class="choices">
      <legend>{props.legend}</legend>
      {props.options.map((option) => (
        <label>
          <input type="checkbox" name={props.name} value={option} checked={checked.has(option)} /> {option}
        </label>
      ))}
    </fieldset>
  );
}

/** A GET form that filters a listing (its fields are the console URL's query). */
export function FilterForm({ action, children }: { action: string; children?: unknown }) {
  return (
    <form method="get" action={action} class="fields filter">
      {children as never}
      <button type="submit" class="secondary">
        Filter
      </button>
    </form>
  );
}

/** "Previous / next" links for a listing answered with has_more. */
export function Pager({ base, offset, limit, hasMore }: { base: string; offset: number; limit: number; hasMore: boolean }) {
  if (offset === 0 && !hasMore) return null;
  const join = base.includes("?") ? "&" : "?";
  return (
    <nav class="pager" aria-label="Pages">
      {offset > 0 ? <a href={`${base}${join}offset=${Math.max(0, offset - limit)}`}>Previous</a> : null}
      {hasMore ? <a href={`${base}${join}offset=${offset + limit}`}>Next</a> : null}
    </nav>
  );
}

export const formatTime = (iso: string | null | undefined) => (iso ? iso.replace("T", " ").replace(/\.\d+Z$/, "Z") : "—");
