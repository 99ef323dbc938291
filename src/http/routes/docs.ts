import { Hono } from "hono";
import type { AppEnv } from "../context";

// /docs: Swagger UI over /openapi.json, its files served from this Worker (the swagger-ui-dist
// package, bound as static assets in wrangler.toml), so the page needs no CDN.

const ASSET_FILES = new Set(["swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "favicon-32x32.png"]);

const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>LLM job gateway · API docs</title>
<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", validatorUrl: null });
</script>
</body>
</html>`;

export const docsRoutes = new Hono<AppEnv>();

docsRoutes.get("/", (c) => c.html(DOCS_PAGE));

docsRoutes.get("/assets/:file", async (c) => {
  const file = c.req.param("file");
  if (!ASSET_FILES.has(file)) return c.json({ detail: "Not found" }, 404);
  const asset = await c.env.ASSETS.fetch(new URL(`/${file}`, c.req.url));
  const response = new Response(asset.body, asset);
  response.headers.set("Cache-Control", "public, max-age=86400");
  return response;
});
