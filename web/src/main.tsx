// The portal's entry point: render the app, then find out whether the
// session cookie still signs me in.

import { render } from "preact";
import "./styles/index.css";
import { boot } from "./actions";
import { App } from "./ui/App";

render(<App />, document.getElementById("app")!);
void boot();
