import './style.css';
import { App } from './app';
import { loginPage } from './pages/login';
import { roomsPage } from './pages/rooms';
import { roomPage } from './pages/room';
import { livePage } from './pages/live';
import { reportsPage } from './pages/reports';
import { associatePage } from './pages/associate';
import { financePage } from './pages/finance';
import { h5Page } from './pages/h5';

const app = new App(document.getElementById('app')!, {
  login: loginPage,
  rooms: roomsPage,
  room: roomPage,
  live: livePage,
  reports: reportsPage,
  associate: associatePage,
  finance: financePage,
  h5: h5Page,
});
app.render();
