// Formatting is Prettier's; these settings match how kumo was written by hand: double quotes, semicolons,
// trailing commas, `(x) =>` (all Prettier's defaults), and wide lines, so short calls stay on one line.
/** @type {import("prettier").Config} */
export default {
  printWidth: 140,
};
