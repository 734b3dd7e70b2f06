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
  // The coordinator's location form: a click on the map fills the latitude and longitude
  // fields (which stay the way to type them, with or without the map); typing moves the marker.
  function initPicker() {
    var element = document.getElementById("map-picker");
    if (!element || !window.L || !element.dataset.tiles) { return; }
    var lat = document.getElementById(element.dataset.latInput);
    var lon = document.getElementById(element.dataset.lonInput);
    if (!lat || !lon) { return; }
    element.hidden = false;
    var map = window.L.map(element, { scrollWheelZoom: false, zoomControl: false });
    window.L.control.zoom({ zoomInTitle: element.dataset.zoomIn || "+", zoomOutTitle: element.dataset.zoomOut || "-" }).addTo(map);
    window.L.tileLayer(element.dataset.tiles, { attribution: element.dataset.attribution, maxZoom: 18 }).addTo(map);
    window.L.Icon.Default.imagePath = "/assets/leaflet/images/";
    var marker = null;
    function typed() {
      var point = [parseFloat(lat.value), parseFloat(lon.value)];
      return isNaN(point[0]) || isNaN(point[1]) ? null : point;
    }
    function place(point) {
      if (marker) { marker.setLatLng(point); } else { marker = window.L.marker(point, { keyboard: false }).addTo(map); }
    }
    var start = typed();
    var centre = JSON.parse(element.dataset.centre || "null");
    if (start) { place(start); map.setView(start, 15); } else if (centre) { map.setView(centre, 13); } else { map.setView([50.6, 4.5], 8); }
    map.on("click", function (event) {
      lat.value = event.latlng.lat.toFixed(6);
      lon.value = event.latlng.lng.toFixed(6);
      place(event.latlng);
    });
    [lat, lon].forEach(function (input) {
      input.addEventListener("change", function () { var point = typed(); if (point) { place(point); map.panTo(point); } });
    });
  }
  function initAll() { init(); initPicker(); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", initAll); } else { initAll(); }
})();
