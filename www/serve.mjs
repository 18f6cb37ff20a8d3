// `npm start`: serves the demo (www/) with the package it imports (js/, pkg/, models/).
import { serve } from "../scripts/static-server.mjs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? "127.0.0.1";
const server = await serve(root, port, host, "/www/");
console.log(`homerank demo: http://${host === "0.0.0.0" ? "localhost" : host}:${server.address().port}/www/`);
