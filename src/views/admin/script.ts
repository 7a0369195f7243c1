/**
 * The admin console's one script, served as a file from /assets (the admin
 * pages' CSP allows script-src 'self'; no page has inline script). It only
 * enhances: the copy buttons next to a value shown once are hidden without
 * it, and the value can always be selected and copied by hand.
 */
export const ADMIN_SCRIPT = `'use strict';
(function () {
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    return new Promise(function (resolve, reject) {
      var area = document.createElement('textarea');
      area.value = text;
      area.setAttribute('readonly', '');
      area.className = 'visually-hidden';
      document.body.appendChild(area);
      area.select();
      var done = false;
      try { done = document.execCommand('copy'); } catch (error) { done = false; }
      document.body.removeChild(area);
      if (done) resolve(); else reject(new Error('copy refused'));
    });
  }
  var buttons = document.querySelectorAll('button[data-copy]');
  Array.prototype.forEach.call(buttons, function (button) {
    var target = document.getElementById(button.getAttribute('data-copy'));
    if (!target) return;
    var label = button.innerHTML;
    var status = document.createElement('span');
    status.setAttribute('role', 'status');
    status.className = 'copy-status';
    button.parentNode.appendChild(status);
    button.hidden = false;
    button.addEventListener('click', function () {
      copyText(target.textContent.trim()).then(function () {
        status.textContent = 'Copied to the clipboard.';
        button.innerHTML = 'Copied';
      }, function () {
        status.textContent = 'Copying was refused: select the value and copy it by hand.';
        var range = document.createRange();
        range.selectNodeContents(target);
        var selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
      });
      setTimeout(function () { button.innerHTML = label; status.textContent = ''; }, 4000);
    });
  });
})();
`;
