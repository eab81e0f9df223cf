// Ask once more before an irreversible post: forms carrying data-confirm submit only when the
// person agrees. Without script the form posts as it always did (the server's checks stand).
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form && form.getAttribute && form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
