// The console's whole stylesheet, served by the Worker at /admin/style.css (no CDN): readable
// from phone to desktop widths, visible keyboard focus.
export const CONSOLE_CSS = `
*,*::before,*::after{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1c2430;background:#f6f7f9}
a{color:#0b57d0}
:focus-visible{outline:3px solid #f29900;outline-offset:2px}
.skip{position:absolute;left:-999px}
.skip:focus{left:8px;top:8px;background:#fff;padding:4px 8px;z-index:10}
.top{display:flex;flex-wrap:wrap;gap:8px 24px;align-items:center;padding:10px 16px;background:#1c2430;color:#fff}
.top a{color:#fff}
.brand{font-weight:700}
.top nav ul{display:flex;flex-wrap:wrap;gap:4px 16px;list-style:none;margin:0;padding:0}
.who{display:flex;gap:12px;align-items:center;margin-left:auto;font-size:14px}
.who button{background:transparent;color:#fff;border-color:#fff}
.who .may{position:relative}.who .may ul{position:absolute;right:0;z-index:1;margin:4px 0 0;padding:8px 8px 8px 24px;background:#fff;color:#111;border:1px solid #ccc;border-radius:4px;white-space:nowrap}
main{max-width:1100px;margin:0 auto;padding:16px}
h1{font-size:1.6rem;margin:8px 0 16px}
h2{font-size:1.2rem;margin:28px 0 8px}
section>h2:first-child{margin-top:4px}
section,.card{background:#fff;border:1px solid #dde1e7;border-radius:8px;padding:12px 16px;margin:0 0 16px}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:14px}
caption{text-align:left;font-size:13px;color:#5a6472;padding:4px 0}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e6e9ee;vertical-align:top}
th{background:#eef1f5}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
form.inline{display:inline-flex;flex-wrap:wrap;gap:8px;align-items:flex-end;margin:4px 8px 4px 0}
td form.inline{margin:0}
form.block{display:flex;flex-direction:column;align-items:flex-start;gap:12px}
form.block>.fields,form.block>.field.wide{align-self:stretch}
form.block>.fields{align-items:flex-start}
form.filter{margin:0 0 12px}
.fields{display:flex;flex-wrap:wrap;gap:8px 16px;align-items:flex-end}
.field{display:flex;flex-direction:column;min-width:12rem;flex:1 1 12rem;max-width:28rem}
.field.wide{max-width:none}
fieldset.choices{border:1px solid #dde1e7;border-radius:6px;margin:0;padding:6px 12px;display:flex;flex-wrap:wrap;gap:4px 16px}
fieldset.choices legend{font-weight:600;font-size:14px;padding:0 4px}
fieldset.choices label{font-weight:400;white-space:nowrap}
label{font-weight:600;font-size:14px}
.hint{color:#5a6472;font-size:13px}
input,select,textarea,button{font:inherit;padding:6px 8px;border:1px solid #9aa4b2;border-radius:6px;background:#fff;color:inherit}
textarea{min-height:6rem;width:100%}
button{cursor:pointer;background:#0b57d0;color:#fff;border-color:#0b57d0;font-weight:600}
button.danger{background:#b3261e;border-color:#b3261e}
button.secondary{background:#fff;color:#0b57d0}
.notice{background:#e6f4ea;border:1px solid #81c995;padding:8px 12px;border-radius:6px}
.error{background:#fce8e6;border:1px solid #f28b82;padding:8px 12px;border-radius:6px}
.secret{font-family:ui-monospace,monospace;word-break:break-all;background:#fff8e1;border:1px solid #f9ab00;padding:8px;border-radius:6px}
dl.facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(10rem,1fr));gap:8px 16px;margin:0}
dl.facts dt{font-size:13px;color:#5a6472}
dl.facts dd{margin:0;font-weight:600;font-variant-numeric:tabular-nums;overflow-wrap:anywhere}
.pager{display:flex;flex-wrap:wrap;gap:8px 16px;margin:8px 0}
.links{display:flex;flex-wrap:wrap;gap:4px 12px}
code.summary{font-size:12px;word-break:break-word}
.empty{margin:12px 0}
ol.attempts{margin:0;padding-left:1.2em}
.status-active,.delivery-delivered{color:#137333}.status-suspended,.delivery-failed,.delivery-dropped{color:#b3261e}.status-paused,.delivery-pending{color:#b06000}
.chart svg{width:100%;height:auto;max-width:900px}
.chart .bar-credits{fill:#0b57d0}.chart .bar-tokens{fill:#34a853}
.chart text{font-size:11px;fill:#1c2430}
.chart .axis{stroke:#9aa4b2}
.spend{white-space:nowrap}.spend meter{width:6em;height:1em;vertical-align:middle}
td .field input[type=number]{width:6em}
@media (max-width:600px){main{padding:8px}.who{margin-left:0}th,td{padding:4px}}
`;
