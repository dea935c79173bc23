// The app's component configuration: the Convex migrations component (`@convex-dev/migrations`),
// which runs the legacy-field cleanup of migrations.ts in batches with tracked, resumable state.
import { defineApp } from "convex/server";
import migrations from "@convex-dev/migrations/convex.config.js";

const app = defineApp();
app.use(migrations);

export default app;
