/* SPDX-License-Identifier: MIT */
/* The HTML report's script (html.c inlines it, and its Content-Security-Policy allows this
 * script alone, by its hash): the copy-as-curl buttons. navigator.clipboard is refused on
 * file:// by some browsers; then the command's text area is selected and copied with
 * document.execCommand. Nothing here throws: a refusal leaves the text selected to copy. */
(function () {
    "use strict";

    function say(button, text) {
        var note = button.parentNode.querySelector(".done");
        if (note) {
            note.textContent = text;
        }
    }

    function selectAndCopy(button, area) {
        var copied = false;
        try {
            area.focus();
            area.select();
            area.setSelectionRange(0, area.value.length);
            copied = document.execCommand("copy");
        } catch (e) {
            copied = false;
        }
        say(button, copied ? "copied" : "selected: press Ctrl+C");
        button.setAttribute("data-copied", copied ? "execCommand" : "selected");
    }

    function copy(button) {
        var area = button.parentNode.querySelector("textarea");
        if (!area) {
            return;
        }
        var text = area.value;
        try {
            if (navigator.clipboard && window.isSecureContext) {
                navigator.clipboard.writeText(text).then(function () {
                    say(button, "copied");
                    button.setAttribute("data-copied", "clipboard");
                }, function () {
                    selectAndCopy(button, area);
                });
                return;
            }
        } catch (e) {
            /* fall through to the text area */
        }
        selectAndCopy(button, area);
    }

    document.addEventListener("click", function (ev) {
        var t = ev.target;
        if (t && t.classList && t.classList.contains("copy")) {
            ev.preventDefault();
            copy(t);
        }
    });
})();
