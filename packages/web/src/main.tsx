/** Entry point of the dashboard bundle (Vite). */
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./ui/app.js";

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
