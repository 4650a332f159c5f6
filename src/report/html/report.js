// leakstop HTML report: sort and filter the findings table. No network,
// no data read from anything but the page's own table.
(function () {
  'use strict';
  var table = document.getElementById('findings');
  if (!table) { return; }
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var search = document.getElementById('search');
  var shown = document.getElementById('shown');
  var selects = Array.prototype.slice.call(document.querySelectorAll('select[data-filter]'));

  function apply() {
    var text = search.value.toLowerCase();
    var count = 0;
    rows.forEach(function (row) {
      var ok = !text || row.textContent.toLowerCase().indexOf(text) >= 0;
      selects.forEach(function (select) {
        var key = select.getAttribute('data-filter');
        if (select.value && row.getAttribute('data-' + key) !== select.value) { ok = false; }
      });
      row.hidden = !ok;
      if (ok) { count += 1; }
    });
    shown.textContent = String(count);
  }

  function key(row, index) {
    var cell = row.cells[index];
    var value = cell.getAttribute('data-key');
    return value === null ? cell.textContent : value;
  }

  function sortBy(index, header) {
    var descending = header.getAttribute('aria-sort') === 'ascending';
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) { th.removeAttribute('aria-sort'); });
    header.setAttribute('aria-sort', descending ? 'descending' : 'ascending');
    rows.sort(function (a, b) {
      var x = key(a, index), y = key(b, index);
      var nx = Number(x), ny = Number(y);
      var order = (x !== '' && y !== '' && !isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
      return descending ? -order : order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }

  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, index) {
    if (!th.hasAttribute('data-sort')) { return; }
    th.tabIndex = 0;
    th.addEventListener('click', function () { sortBy(index, th); });
    th.addEventListener('keydown', function (event) { if (event.key === 'Enter') { sortBy(index, th); } });
  });
  search.addEventListener('input', apply);
  selects.forEach(function (select) { select.addEventListener('change', apply); });
  document.getElementById('filters').addEventListener('submit', function (event) { event.preventDefault(); });
  apply();
}());
