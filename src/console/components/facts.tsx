import type { Child } from "hono/jsx";

// A list of named figures (a term and its value), laid out in a grid.

export interface Fact {
  label: string;
  value: Child;
  /** A class for the value (e.g. a status colour). */
  class?: string;
}

export function Facts({ facts, label }: { facts: Fact[]; label?: string }) {
  return (
    <dl class="facts" aria-label={label}>
      {facts.map((fact) => (
        <div>
          <dt>{fact.label}</dt>
          <dd class={fact.class}>{fact.value}</dd>
        </div>
      ))}
    </dl>
  );
}
