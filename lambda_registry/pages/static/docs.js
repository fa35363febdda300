// Draws the OpenAPI document of this registry with Swagger UI, from the same
// origin (and the host's prefix when embedded). validatorUrl: null keeps
// Swagger UI from sending the document to validator.swagger.io.
window.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var node = document.getElementById("swagger-ui");
  window.ui = window.SwaggerUIBundle({
    url: node.getAttribute("data-openapi-url"),
    domNode: node,
    deepLinking: true,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    validatorUrl: null,
    docExpansion: "list",
    defaultModelsExpandDepth: 0
  });
});
