"use strict";
// The admin's dropdown list filters (admin/messages_app/dropdown_filter.html): each option's
// value is the list's query string with that choice, so choosing one opens it.
document.addEventListener("change", (event) => {
  const select = event.target;
  if (select instanceof HTMLSelectElement && select.hasAttribute("data-dropdown-filter")) {
    window.location.href = select.value;
  }
});
