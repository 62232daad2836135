// The admin API reference (/api/docs): Redoc, vendored, rendering /openapi.json. Styles carry the page's
// CSP nonce (the meta tag styled-components reads); nothing is fetched from anywhere but this site.
import { init } from "../vendor/redoc-3.0.1.standalone.js";

// Redoc 3 always draws its vendor's logo under the side menu from cdn.redoc.ly, and has no option to leave it
// out. The policy (img-src 'self' data:) refuses it with a console error on every visit, so an image from
// elsewhere gets this drawn stand-in before the browser asks for it. React sets `src` with setAttribute;
// the property is covered too. This page's script only: the console pages keep the browser's own.
const STAND_IN = "data:image/svg+xml," + encodeURIComponent(
  '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="16" viewBox="0 0 64 16">'
  + '<text x="0" y="12" font-family="sans-serif" font-size="12" fill="currentColor">Redocly</text></svg>');

function fromHere(value) {
  if (String(value).startsWith("data:")) return true;
  try {
    return new URL(value, document.baseURI).origin === window.location.origin;
  } catch {
    return false;
  }
}

const setAttribute = Element.prototype.setAttribute;
HTMLImageElement.prototype.setAttribute = function (name, value) {
  const kept = String(name).toLowerCase() !== "src" || fromHere(value);
  return setAttribute.call(this, name, kept ? value : STAND_IN);
};
const src = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, "src");
Object.defineProperty(HTMLImageElement.prototype, "src", {
  ...src,
  set(value) { src.set.call(this, fromHere(value) ? value : STAND_IN); },
});

const mount = document.getElementById("reference");
init(mount.dataset.specUrl, {
  disableTelemetry: true,
  hideDownloadButtons: false,
  expandResponses: "200,201",
  sortTagsAlphabetically: true,
  jsonSamplesExpandLevel: 2,
}, mount);
