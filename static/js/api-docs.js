// The API reference: Swagger UI on the OpenAPI document; "Try it out" goes as the signed-in user.
(function () {
  "use strict";

  var UNSAFE = ["POST", "PUT", "PATCH", "DELETE"];

  function csrfToken() {
    // The same token htmx sends: the page's hx-headers.
    var headers = document.body.getAttribute("hx-headers");
    return headers ? JSON.parse(headers)["X-CSRFToken"] : null;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var target = document.getElementById("swagger-ui");
    window.SwaggerUIBundle({
      url: target.getAttribute("data-openapi"),
      dom_id: "#swagger-ui",
      requestInterceptor: function (request) {
        var token = csrfToken();
        if (token && UNSAFE.indexOf((request.method || "GET").toUpperCase()) !== -1) {
          request.headers["X-CSRFToken"] = token;
        }
        return request;
      }
    });
  });
})();
