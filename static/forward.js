// A former URL's page (templates/alias.html): go on to the page's current
// URL, keeping the paragraph anchor (#pN) the old link pointed at.
(function () {
  var target = document.currentScript && document.currentScript.dataset.target;
  if (target) location.replace(target + location.hash);
})();
