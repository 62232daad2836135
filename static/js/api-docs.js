// The admin API reference (/api/docs): Redoc, vendored, rendering /openapi.json. Styles carry the page's
// CSP nonce (the meta tag styled-components reads); nothing is fetched from anywhere but this site.
import { init } from "../vendor/redoc-3.0.1.standalone.js";

const mount = document.getElementById("reference");
init(mount.dataset.specUrl, {
  disableTelemetry: true,
  hideDownloadButtons: false,
  expandResponses: "200,201",
  sortTagsAlphabetically: true,
  jsonSamplesExpandLevel: 2,
}, mount);
