// leakstop dashboard: served as a static file (the Content-Security-Policy
// allows no inline script). It only submits the filter form when a filter
// changes and keeps a confirmation form from being sent twice.
(function () {
  'use strict';
  var filters = document.getElementById('filters');
  if (filters) {
    Array.prototype.forEach.call(filters.querySelectorAll('select[data-autosubmit]'), function (select) {
      select.addEventListener('change', function () { filters.submit(); });
    });
  }
  var confirmForm = document.getElementById('confirm-form');
  if (confirmForm) {
    confirmForm.addEventListener('submit', function () {
      var button = document.getElementById('do-revoke');
      if (button) { button.disabled = true; button.textContent = 'Revoking…'; }
    });
  }
}());
