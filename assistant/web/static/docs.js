// The interactive API reference at /docs: Swagger UI from the server's own files (no CDN, so
// it works offline), started here rather than by an inline script (the page's CSP runs only
// files of this origin).
window.ui = window.SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null, // the public validator badge would call another origin
  presets: [window.SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
