// The theme is a personal setting (PATCH /v1/me): applied at once, before the save answers.
export type Theme = 'light' | 'dark' | 'system';

export function applyTheme(theme: Theme) {
  document.documentElement.dataset.theme = theme;
}
