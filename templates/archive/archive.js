// Starts Pagefind's search box on a language page. Pagefind picks the index of the page's
// <html lang>; result links are made relative to the site's top (data-root), so the archive
// works from any sub-path of a web server.
window.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("search");
  if (!box || typeof PagefindUI === "undefined") return;
  new PagefindUI({
    element: "#search",
    showSubResults: true,
    showImages: false,
    resetStyles: false,
    baseUrl: new URL(box.dataset.root || "./", document.baseURI).pathname,
  });
});
