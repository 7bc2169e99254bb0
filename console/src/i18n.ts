/**
 * The console's languages: i18next with the bundled resources of `locales/`, the language
 * each operator chose (remembered in this browser per operator), and the Intl locale the
 * formatters of `format.ts` use. See "Languages" in console/README.md.
 */
import i18n from "i18next";
import { initReactI18next } from "react-i18next";
import en from "./locales/en.json";
import ru from "./locales/ru.json";

export const LANGUAGES = ["en", "ru"] as const;
export type UiLanguage = (typeof LANGUAGES)[number];

/** Each language's own name, shown in the switcher whatever the current language. */
export const LANGUAGE_NAMES: Record<UiLanguage, string> = { en: "English", ru: "Русский" };

/** The Intl locale of each language: English dates as `25 Nov 2026`, the chain's habit. */
const INTL_LOCALES: Record<UiLanguage, string> = { en: "en-GB", ru: "ru-RU" };

// Keys are checked by tsc against the English resources (see i18next's TypeScript guide).
declare module "i18next" {
  interface CustomTypeOptions {
    defaultNS: "translation";
    resources: { translation: typeof en };
  }
}

function isLanguage(value: string | null | undefined): value is UiLanguage {
  return (LANGUAGES as readonly string[]).includes(value ?? "");
}

/** The browser's preferred language when it is one of ours, else English. */
export function browserLanguage(): UiLanguage {
  for (const tag of navigator.languages ?? [navigator.language]) {
    const base = tag.toLowerCase().split("-")[0];
    if (isLanguage(base)) return base;
  }
  return "en";
}

const storageKey = (operatorId: string) => `switchboard.language.${operatorId}`;

/** The language an operator chose in this browser, else the browser's. */
export function operatorLanguage(operatorId: string): UiLanguage {
  let stored: string | null = null;
  try {
    stored = localStorage.getItem(storageKey(operatorId));
  } catch {
    // Storage may be disabled; the browser's language then applies.
  }
  return isLanguage(stored) ? stored : browserLanguage();
}

/** Switches to `language` and remembers it for the operator. */
export function chooseLanguage(operatorId: string, language: UiLanguage): void {
  try {
    localStorage.setItem(storageKey(operatorId), language);
  } catch {
    // Not remembered, but still applied for this visit.
  }
  void i18n.changeLanguage(language);
}

/** The console's language for this operator (or, logged out, the browser's). */
export function applyLanguageFor(operatorId: string | null): void {
  const language = operatorId ? operatorLanguage(operatorId) : browserLanguage();
  if (i18n.language !== language) void i18n.changeLanguage(language);
}

/** The current language. */
export function currentLanguage(): UiLanguage {
  return isLanguage(i18n.language) ? i18n.language : "en";
}

/** The Intl locale of the current language, for dates, numbers and durations. */
export function intlLocale(): string {
  return INTL_LOCALES[currentLanguage()];
}

i18n.on("languageChanged", (language) => {
  document.documentElement.lang = language;
});

void i18n.use(initReactI18next).init({
  resources: { en: { translation: en }, ru: { translation: ru } },
  lng: browserLanguage(),
  fallbackLng: "en",
  supportedLngs: LANGUAGES,
  // React escapes what it renders.
  interpolation: { escapeValue: false },
});

export default i18n;
