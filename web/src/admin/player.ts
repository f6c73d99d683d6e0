/** asciinema-player, loaded only when a report has recordings (a separate chunk). */
import "asciinema-player/dist/bundle/asciinema-player.css";

export { create } from "asciinema-player";
