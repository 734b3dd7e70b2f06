// The map view enhances the result list; without JavaScript (or tiles) the list is complete.
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
      var link = document.createElement("a");
      link.href = point.url;
      link.textContent = point.name;
      // Announced by name (not Leaflet's "Marker"); keyboard-focusable, Enter opens the popup.
      window.L.marker([point.lat, point.lon], { title: point.name, alt: point.name, keyboard: true })
        .addTo(map).bindPopup(link);
      bounds.push([point.lat, point.lon]);
    });
    map.fitBounds(bounds, { padding: [24, 24], maxZoom: 14 });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
