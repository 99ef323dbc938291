import { can } from "../../security/admin-roles";
import { formAction } from "../actions";
import type { PriceListAnswer } from "../api-types";
import { ActionForm } from "../components/action-form";
import { Field } from "../components/fields";
import { renderPage } from "../components/layout";
import { type Column, Table } from "../components/table";
import { type ConsoleApp, type ConsoleContext, seg } from "../context";
import { numberOrText } from "../forms";

// The pricing table (USD per million tokens, used when LiteLLM reports no cost): set, remove.

type Price = PriceListAnswer["prices"][number];

const removeColumn: Column<Price> = {
  label: "Action",
  cell: (price) => (
    <ActionForm
      action="/admin/pricing/delete"
      label="Remove"
      permission="pricing.write"
      danger
      buttonName={`Remove the price of ${price.model_name}`}
    >
      <input type="hidden" name="model_name" value={price.model_name} />
    </ActionForm>
  ),
};

async function pricingPage(c: ConsoleContext) {
  const list = await c.get("api").get<PriceListAnswer>("/api/pricing");
  return renderPage(
    c,
    { title: "Pricing", error: list.ok ? null : list.detail, status: list.status },
    <>
      <ActionForm action="/admin/pricing" label="Save price" permission="pricing.write" title="Set a model's price (USD per 1M tokens)">
        <div class="fields">
          <Field label="Model" name="model_name" required />
          <Field label="Input per 1M tokens" name="input_per_million_usd" type="number" step="any" min={0} required />
          <Field label="Output per 1M tokens" name="output_per_million_usd" type="number" step="any" min={0} required />
        </div>
      </ActionForm>
      {list.ok ? (
        <Table
          caption="Prices"
          rows={list.data.prices}
          empty="No prices set: calls are costed by LiteLLM alone."
          columns={[
            { label: "Model", cell: (price) => price.model_name },
            { label: "Input / 1M", numeric: true, cell: (price) => price.input_per_million_usd },
            { label: "Output / 1M", numeric: true, cell: (price) => price.output_per_million_usd },
            ...(can(c.get("admin"), "pricing.write") ? [removeColumn] : []),
          ]}
        />
      ) : null}
    </>,
  );
}

export function registerPricingPage(app: ConsoleApp): void {
  app.get("/pricing", (c) => pricingPage(c));
  formAction<unknown>(app, "/pricing", {
    page: () => "/admin/pricing",
    request: (form) => ({
      method: "PUT",
      path: "/api/pricing",
      body: {
        model_name: form.model_name,
        input_per_million_usd: numberOrText(form.input_per_million_usd),
        output_per_million_usd: numberOrText(form.output_per_million_usd),
      },
    }),
    done: (_answer, form) => ({ notice: `Price of '${form.model_name}' saved` }),
  });
  formAction<unknown>(app, "/pricing/delete", {
    page: () => "/admin/pricing",
    request: (form) => ({ method: "DELETE", path: `/api/pricing/${seg(form.model_name ?? "")}` }),
    done: (_answer, form) => ({ notice: `Price of '${form.model_name}' removed` }),
  });
}
