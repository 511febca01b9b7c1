import { useEffect, useState } from "preact/hooks";
import { announcement } from "../notify";
import * as S from "../store";
import { ConfirmHost, LightboxHost } from "./common";
import { ChatPane } from "./ChatWindow";
import { ContactDock } from "./ContactDock";
import { ListPane } from "./ConversationList";
import { Header, SubTabs } from "./Header";
import { IconWifiOff } from "./icons";
import { Login } from "./Login";
import { NewConversationHost } from "./NewConversation";

export function App() {
  const s = S.session.value;
  if (s === "loading") {
    return (
      <div class="boot" role="status">
        Loading Switchboard…
      </div>
    );
  }
  if (s === "signed-out") return <Login />;
  return <Shell />;
}

function Shell() {
  // On a phone-sized screen the list and the chat are two panes that swap.
  const pane = S.openId.value ? "chat" : "list";
  return (
    <div class="shell">
      <a class="skip-link" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById("main")?.focus())}>
        Skip to conversations
      </a>
      <Header />
      <SubTabs />
      <main class="workspace" id="main" tabIndex={-1} data-pane={pane}>
        <ListPane />
        <ChatPane />
      </main>
      <ConnectionBanner />
      <ContactDock />
      <NewConversationHost />
      <ConfirmHost />
      <LightboxHost />
      <div class="visually-hidden" aria-live="polite" aria-atomic="true">
        {announcement.value}
      </div>
    </div>
  );
}

/**
 * Says, discreetly, that the live connection is down while it is retried;
 * only after a moment, so that a quick reconnect shows nothing.
 */
function ConnectionBanner() {
  const state = S.connection.value;
  const [shown, setShown] = useState(false);
  const [back, setBack] = useState(false);
  useEffect(() => {
    if (state === "offline") {
      const t = setTimeout(() => setShown(true), 1200);
      return () => clearTimeout(t);
    }
    if (state === "online" && shown) {
      setShown(false);
      setBack(true);
      const t = setTimeout(() => setBack(false), 2500);
      return () => clearTimeout(t);
    }
    return undefined;
  }, [state]);
  return (
    <div class="conn" role="status" aria-live="polite">
      {shown && state !== "online" && (
        <span class="conn-pill conn-offline">
          <IconWifiOff />
          Reconnecting…
        </span>
      )}
      {back && state === "online" && <span class="conn-pill conn-back">Connected again</span>}
    </div>
  );
}
