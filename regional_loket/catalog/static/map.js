// The map enhances the page: the search's result list (a marker per result, linking to it) or a
// location's page (its one point). Without JavaScript or a tile server (MAP_TILE_URL) the page
// is complete without it; the templates then leave the map out altogether.
(function () {
  "use strict";
  function init() {
    var element = document.getElementById("map");
    if (!element || !window.L || !element.dataset.tiles) { return; }
    var points = JSON.parse(element.dataset.points || "[]");
    if (!points.length) { return; }
    element.hidden = false;
    // The way past the map for keyboard users exists only when there is a map to skip.
    var skip = document.querySelector("[data-skip-map]");
    if (skip) { skip.hidden = false; }
    var map = window.L.map(element, { scrollWheelZoom: false, zoomControl: false });
    window.L.control.zoom({ zoomInTitle: element.dataset.zoomIn || "+", zoomOutTitle: element.dataset.zoomOut || "-" }).addTo(map);
    window.L.tileLayer(element.dataset.tiles, { attribution: element.dataset.attribution, maxZoom: 18 }).addTo(map);
    window.L.Icon.Default.imagePath = "/assets/leaflet/images/";
    var bounds = [];
    points.forEach(function (point) {
      var label = document.createElement(point.url ? "a" : "span");
      if (point.url) { label.href = point.url; }
      label.textContent = point.name;
      // Announced by name (not Leaflet's "Marker"); keyboard-focusable, Enter opens the popup.
      window.L.marker([point.lat, point.lon], { title: point.name, alt: point.name, keyboard: true })
        .addTo(map).bindPopup(label);
      bounds.push([point.lat, point.lon]);
    });
    map.fitBounds(bounds, { padding: [24, 24], maxZoom: 14 });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
