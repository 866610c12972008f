/**
 * Light and dark: the page follows `prefers-color-scheme` until the person
 * picks one with the theme button; the choice is remembered.
 * @module
 */

const THEME_STORAGE = "yychat.theme";
const ORDER = ["auto", "dark", "light"];
const LABELS = { auto: "Theme: automatic", dark: "Theme: dark", light: "Theme: light" };

function stored() {
  try {
    const t = localStorage.getItem(THEME_STORAGE);
    return ORDER.includes(t) ? t : "auto";
  } catch {
    return "auto";
  }
}

/** @param {string} theme */
function apply(theme) {
  if (theme === "auto") delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = theme;
}

/**
 * Applies the remembered theme and makes `button` cycle automatic → dark → light.
 * @param {HTMLButtonElement | null} button
 */
export function setUpTheme(button) {
  let theme = stored();
  apply(theme);
  if (!button) return;
  const show = () => {
    button.textContent = theme === "dark" ? "☾" : theme === "light" ? "☀" : "◐";
    button.setAttribute("aria-label", LABELS[theme]);
    button.title = LABELS[theme];
  };
  show();
  button.addEventListener("click", () => {
    theme = ORDER[(ORDER.indexOf(theme) + 1) % ORDER.length];
    apply(theme);
    show();
    try {
      localStorage.setItem(THEME_STORAGE, theme);
    } catch {
      // not remembered
    }
  });
}
