// Every string of the page, one table per language; months and numbers written the local way.
const STRINGS = {
  en: {
    title: "Mosaïque: France, month by month",
    search: "Search a place or coordinates", searchLabel: "Place or coordinates",
    searchNone: "No place found", searchFailed: "Search is unavailable ({error})",
    coordinates: "coordinates", inhabitants: "{n} inhabitants",
    controls: "Settings", left: "Left", right: "Right", leftMonth: "Left month", rightMonth: "Right month",
    view: "View", truecolor: "True colour", falsecolor: "False-colour infrared", ndvi: "NDVI",
    mode: "Mode", swipe: "Swipe", diffNdvi: "Difference: NDVI", diffMagnitude: "Difference: change magnitude",
    validity: "Clouds, snow, water", opacity: "Opacity", borders: "Borders and coast",
    names: "Place names", orient: "Divider: vertical / horizontal",
    fullscreen: "Full screen", language: "Français", languageLabel: "Passer en français",
    divider: "Divider between the two months", dividerValue: "left month {pct}",
    loadingMonths: "Loading months…", unreachable: "The server cannot be reached ({error}); trying again.",
    noMonths: "No month is published yet.", notPublished: "Month {month} is not published; showing {shown}.",
    tilesFailed: "Some tiles could not be loaded ({error}).", dismiss: "Dismiss",
    chart: "Pixel over the months", close: "Close", loading: "Loading…", noData: "No data here.",
    pointFailed: "Could not query this point ({error}).", chartImage: "NDVI and red, green, blue, near-infrared reflectance by month, with a gap where a month is not valid",
    month: "month", flag: "flag", day: "day", nodata: "no data",
    ndviChange: "NDVI change", magnitudeChange: "Reflectance change", loss: "loss", gain: "gain",
    attribution: "Contains modified Copernicus Sentinel data, processed by Theia/CNES (Sentinel-2 L3A)",
    flags: { land: "land", water: "water", snow: "snow", cloud: "cloud", nodata: "no data" },
    timeline: "Timeline", leftOnTimeline: "Left month on the timeline", rightOnTimeline: "Right month on the timeline",
    leftLetter: "L", rightLetter: "R", play: "Play", pause: "Pause", speed: "Speed", seconds: "{n} s per month",
    playSides: "Playing", both: "Both", bandB4: "red", bandB3: "green", bandB2: "blue", bandB8: "near infrared",
    validShare: "Valid in both months: {pct}", validUnknown: "Valid in both months: …",
    validReasons: "Not comparable, in either month: cloud all month {cloud}, snow {snow}, no data {nodata}",
    changes: "Biggest changes", changeKind: "Change", kindLoss: "NDVI loss", kindGain: "NDVI gain",
    kindMagnitude: "Change magnitude", changeItem: "{area} km², mean change {change}",
    noChanges: "No large change between these months.", changesComputing: "Finding the changes…",
    changesFailed: "The changes are unavailable ({error}).", changesPaused: "Pause the timeline to list the changes.",
    export: "Export a timelapse", exportMonths: "Months", shownRange: "From the left to the right month",
    allMonths: "All published months", format: "Format", fmtWebp: "WebP (animated)", fmtGif: "GIF",
    fmtMp4: "MP4 video (H.264)", width: "Width", pixels: "{n} px", exportStart: "Export this view",
    exportProgressLabel: "Export progress", exportStarting: "Export started…",
    exportProgress: "Exporting: step {done} of {total}…", exportReady: "The timelapse is ready.",
    exportBusy: "Another export is running on the server; try again in {s} s.",
    exportFailed: "The export failed: {error}", download: "Download {name} ({size})",
    lighterNote: "lighter: zoom {zoom}, about {m} m",
    lighterDropped: "lighter: zoom {zoom}, about {m} m, drops ~{share} % of the {source} m source pixels",
  },
  fr: {
    title: "Mosaïque : la France, mois par mois",
    search: "Chercher un lieu ou des coordonnées", searchLabel: "Lieu ou coordonnées",
    searchNone: "Aucun lieu trouvé", searchFailed: "La recherche est indisponible ({error})",
    coordinates: "coordonnées", inhabitants: "{n} habitants",
    controls: "Réglages", left: "Gauche", right: "Droite", leftMonth: "Mois de gauche", rightMonth: "Mois de droite",
    view: "Rendu", truecolor: "Couleurs naturelles", falsecolor: "Fausses couleurs infrarouge", ndvi: "NDVI",
    mode: "Mode", swipe: "Rideau", diffNdvi: "Différence : NDVI", diffMagnitude: "Différence : ampleur du changement",
    validity: "Nuages, neige, eau", opacity: "Opacité", borders: "Frontières et côtes",
    names: "Noms de lieux", orient: "Rideau : vertical / horizontal",
    fullscreen: "Plein écran", language: "English", languageLabel: "Switch to English",
    divider: "Séparation entre les deux mois", dividerValue: "mois de gauche {pct}",
    loadingMonths: "Chargement des mois…", unreachable: "Le serveur est injoignable ({error}) ; nouvel essai.",
    noMonths: "Aucun mois n’est encore publié.", notPublished: "Le mois {month} n’est pas publié ; à la place : {shown}.",
    tilesFailed: "Des tuiles n’ont pas pu être chargées ({error}).", dismiss: "Fermer le message",
    chart: "Le pixel au fil des mois", close: "Fermer", loading: "Chargement…", noData: "Pas de donnée ici.",
    pointFailed: "Impossible d’interroger ce point ({error}).", chartImage: "NDVI et réflectances rouge, verte, bleue, proche infrarouge par mois, interrompus là où un mois n’est pas valide",
    month: "mois", flag: "état", day: "jour", nodata: "sans donnée",
    ndviChange: "Évolution du NDVI", magnitudeChange: "Évolution des réflectances", loss: "perte", gain: "gain",
    attribution: "Contient des données Copernicus Sentinel modifiées, traitées par Theia/CNES (Sentinel-2 L3A)",
    flags: { land: "terre", water: "eau", snow: "neige", cloud: "nuage", nodata: "sans donnée" },
    timeline: "Frise des mois", leftOnTimeline: "Mois de gauche sur la frise", rightOnTimeline: "Mois de droite sur la frise",
    leftLetter: "G", rightLetter: "D", play: "Lecture", pause: "Pause", speed: "Vitesse", seconds: "{n} s par mois",
    playSides: "Défilent", both: "Les deux", bandB4: "rouge", bandB3: "vert", bandB2: "bleu", bandB8: "proche infrarouge",
    validShare: "Valide les deux mois : {pct}", validUnknown: "Valide les deux mois : …",
    validReasons: "Non comparable, dans l’un des mois : nuage tout le mois {cloud}, neige {snow}, sans donnée {nodata}",
    changes: "Plus grands changements", changeKind: "Changement", kindLoss: "Baisse du NDVI", kindGain: "Hausse du NDVI",
    kindMagnitude: "Ampleur du changement", changeItem: "{area} km², évolution moyenne {change}",
    noChanges: "Aucun grand changement entre ces mois.", changesComputing: "Recherche des changements…",
    changesFailed: "Les changements sont indisponibles ({error}).", changesPaused: "Mettez la frise en pause pour lister les changements.",
    export: "Exporter une animation", exportMonths: "Mois", shownRange: "Du mois de gauche au mois de droite",
    allMonths: "Tous les mois publiés", format: "Format", fmtWebp: "WebP (animé)", fmtGif: "GIF",
    fmtMp4: "Vidéo MP4 (H.264)", width: "Largeur", pixels: "{n} px", exportStart: "Exporter cette vue",
    exportProgressLabel: "Avancement de l’export", exportStarting: "Export lancé…",
    exportProgress: "Export : étape {done} sur {total}…", exportReady: "L’animation est prête.",
    exportBusy: "Un autre export est en cours sur le serveur ; réessayez dans {s} s.",
    exportFailed: "L’export a échoué : {error}", download: "Télécharger {name} ({size})",
    lighterNote: "allégé : zoom {zoom}, environ {m} m",
    lighterDropped: "allégé : zoom {zoom}, environ {m} m, omet ~{share} % des pixels sources de {source} m",
  },
};
const KEY = "mosaique-lang";

function pick() {
  const saved = localStorage.getItem(KEY);
  if (STRINGS[saved]) return saved;
  for (const tag of navigator.languages || [navigator.language]) {
    const base = String(tag).slice(0, 2).toLowerCase();
    if (STRINGS[base]) return base;
  }
  return "en";
}

export let lang = pick();

/** The string `key` in the page's language, with {name} replaced from `vars`. */
export function t(key, vars = {}) {
  const text = STRINGS[lang][key] ?? STRINGS.en[key] ?? key;
  return typeof text === "string" ? text.replace(/\{(\w+)\}/g, (_, k) => vars[k] ?? "") : text;
}

/** "juillet 2018" or "July 2018" from "2018-07". */
export function monthName(id) {
  const [y, m] = id.split("-").map(Number);
  return new Intl.DateTimeFormat(lang, { month: "long", year: "numeric", timeZone: "UTC" }).format(Date.UTC(y, m - 1, 1));
}

/** A month on a narrow axis: "juil." or, narrower than `room` px allows, "J". */
export function monthShort(id, room = 40) {
  const [y, m] = id.split("-").map(Number);
  return new Intl.DateTimeFormat(lang, { month: room >= 40 ? "short" : "narrow", timeZone: "UTC" }).format(Date.UTC(y, m - 1, 1));
}

/** A number the local way ("0,45" in French), with at most `digits` decimals. */
export function number(value, digits = 2, signed = false) {
  return new Intl.NumberFormat(lang, { maximumFractionDigits: digits, signDisplay: signed ? "exceptZero" : "auto" }).format(value);
}

/** A file's size the local way: "12 kB", "1,4 Mo". */
export function bytes(n) {
  const [value, unit] = n < 1e6 ? [n / 1e3, "kilobyte"] : [n / 1e6, "megabyte"];
  return new Intl.NumberFormat(lang, { style: "unit", unit, maximumFractionDigits: 1 }).format(value);
}

/** "60 %" (French and English alike on this page: the value is announced as written). */
export function percent(value) {
  return new Intl.NumberFormat(lang, { style: "percent", maximumFractionDigits: 0 }).format(value / 100);
}

/** Write the static texts of the page (data-i18n: text, data-i18n-label: aria-label, data-i18n-placeholder). */
export function translatePage() {
  document.documentElement.lang = lang;
  document.title = t("title");
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-label]")) el.setAttribute("aria-label", t(el.dataset.i18nLabel));
  for (const el of document.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
  const other = lang === "fr" ? "en" : "fr";
  document.getElementById("lang").lang = other;
}

/** Switch to the other language and remember the choice. */
export function toggleLang() {
  lang = lang === "fr" ? "en" : "fr";
  localStorage.setItem(KEY, lang);
  translatePage();
}
